// Judging a run: its evidence completed from the VM and the monitor, the
// oops decoded, the verdict rules (rig/verdict) applied.
#pragma once

#include <vector>

#include "proto/racerig.pb.h"
#include "rig/run/run.h"
#include "rig/run/run_state.h"

namespace racerig::run {

// Completes `run`'s evidence (how QEMU ended, the agent's events after
// `earlier_events`, the ones said before a snapshot was taken, the oops)
// and writes the report's verdict, reason, oops (decoded), agent events and
// schedule flags; marks the phase "verdict". Returns the verdict. Never
// blocks: the monitor is only polled.
pb::Verdict judge(const RunContext& ctx, RunState& run, const std::vector<pb::AgentEvent>& earlier_events);

}  // namespace racerig::run
