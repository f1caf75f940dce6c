// racerig's and QEMU's versions (see version.h).
#include "host/version.h"

#include "rig/kbuild/subprocess.h"

namespace racerig::host {

const char* racerig_version() {
  return
#include "host/version.inc"
      ;
}

std::string qemu_version(const std::string& qemu) {
  auto out = kbuild::run_checked(kbuild::Command{{qemu, "--version"}, {}, {}, {}}, Deadline::after_seconds(10));
  if (!out.ok()) return "unknown (" + out.error().message + ")";
  return out->substr(0, out->find('\n'));
}

}  // namespace racerig::host
