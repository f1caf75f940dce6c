// Boot and guest set-up: what the guest agent is told (its plan), and
// running every vCPU until the agent reports READY.
#pragma once

#include <string>

#include "proto/racerig.pb.h"
#include "rig/run/run.h"
#include "rig/run/run_state.h"

namespace racerig::run {

// What the guest agent is told: the workload, and whether the actors wait
// for "go" and the agent stays up (from a snapshot).
pb::GuestPlan plan_of(const RunContext& ctx, bool snapshot, bool from_template);

// Boot and guest set-up of the VM `run` watches: every vCPU runs until the
// agent is READY (the scenario's boot deadline, 120 s by default, for each
// of the two). Marks the phases "boot" and "guest_setup". Returns why not,
// or "" when ready. Progress says when the kernel first speaks on the
// console and when the agent starts, so a boot that hangs shows where.
std::string boot_to_ready(const RunContext& ctx, RunState& run, const Progress& progress);

}  // namespace racerig::run
