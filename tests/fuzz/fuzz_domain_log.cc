// libFuzzer target: libvirt's domain logs (rig/libvirt's domain_log): QEMU's
// stderr and libvirt's lines, read after a domain ends to say how it ended.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rig/libvirt/domain_log.h"

namespace libvirt = racerig::libvirt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view log(reinterpret_cast<const char*>(data), size);
  std::string end = libvirt::domain_end_from_log(log);
  const bool failed = libvirt::domain_failed_from_log(log);
  // A log that says the domain failed says how it ended.
  if (failed && end.empty()) __builtin_trap();
  return 0;
}
