// Stepping a stopped vCPU over the breakpoint it stopped on, for the engine,
// the tracer and the interrupt answering alike.
#pragma once

#include "rig/base/deadline.h"
#include "rig/base/guest_addr.h"
#include "rig/base/result.h"
#include "rig/schedule/target.h"

namespace racerig::schedule {

// Removes the breakpoint at `pc`, single-steps `vcpu` until it left `pc`,
// and inserts the breakpoint again. QEMU's gdbstub now and then answers a
// step with the vCPU still at `pc`, the instruction not run (measured: 2 of
// about 2,400 steps in 12 traces of the seed's window, two explores at a
// time); resumed then, it traps on the same breakpoint at once, and the
// tracer counted a second arrival that never happened, shifting explore's
// map. So a step that did not move is repeated, at most kStepTries times in
// all (an instruction that jumps to itself stays where it is).
inline constexpr int kStepTries = 4;
Status step_over(Target& target, int vcpu, GuestAddr pc, Deadline deadline);

}  // namespace racerig::schedule
