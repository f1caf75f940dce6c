// The probe of `qemu --version` (see version.h).
#include "rig/qemu/version.h"

#include "rig/process/process.h"

namespace racerig::qemu {

Result<std::string> qemu_version(const std::string& qemu, Deadline deadline) {
  process::Limits limits;
  limits.deadline = deadline;
  RACERIG_ASSIGN(std::string out, process::run_checked(process::Spec{{qemu, "--version"}}, limits));
  return out.substr(0, out.find('\n'));
}

}  // namespace racerig::qemu
