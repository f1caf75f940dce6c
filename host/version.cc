// racerig's and QEMU's versions (see version.h).
#include "host/version.h"

#include "rig/qemu/version.h"

namespace racerig::host {

const char* racerig_version() {
  return
#include "host/version.inc"
      ;
}

std::string qemu_version(const std::string& qemu) {
  auto version = qemu::qemu_version(qemu, Deadline::after_seconds(10));
  if (!version.ok()) return "unknown (" + version.error().message + ")";
  return *version;
}

}  // namespace racerig::host
