// Stepping over a breakpoint (see step_over.h).
#include "rig/schedule/step_over.h"

#include <string>

namespace racerig::schedule {

Status step_over(Target& target, int vcpu, GuestAddr pc, Deadline deadline) {
  RACERIG_TRY(target.remove_breakpoint(pc, deadline));
  Status stepped = Status::Ok();
  for (int i = 0; i < kStepTries; ++i) {
    stepped = target.step(vcpu, deadline);
    if (!stepped.ok()) break;
    auto now = target.read_register(vcpu, "rip", deadline);
    if (!now.ok()) {
      stepped = now.error();
      break;
    }
    if (*now != pc.value()) break;
  }
  RACERIG_TRY(target.insert_breakpoint(pc, deadline));
  if (!stepped.ok()) return stepped.error().wrap("stepping vCPU " + std::to_string(vcpu) + " over " + pc.hex());
  return Status::Ok();
}

}  // namespace racerig::schedule
