// racerig's and QEMU's versions (see version.h).
#include "host/version.h"

#include "rig/process/process.h"

namespace racerig::host {

const char* racerig_version() {
  return
#include "host/version.inc"
      ;
}

std::string qemu_version(const std::string& qemu) {
  process::Limits limits;
  limits.deadline = Deadline::after_seconds(10);
  auto out = process::run_checked(process::Spec{{qemu, "--version"}}, limits);
  if (!out.ok()) return "unknown (" + out.error().message + ")";
  return out->substr(0, out->find('\n'));
}

}  // namespace racerig::host
