// Enforcing the schedule on a ready guest, and what follows it until the
// workload is done, the kernel oopsed, the guest is gone or the actors
// deadlocked.
#pragma once

#include <string>

#include "rig/run/run.h"
#include "rig/run/run_state.h"

namespace racerig::run {

// The schedule and what follows it, on the ready guest `run` watches, whose
// agent waits for `go_line` ("go" or "go ARGUMENT"; empty: the agent does
// not wait, there is no schedule and no barrier and the actors already
// run). Adds to `run`: the schedule's evidence (whether it ran and how it
// ended, a deadlock, a finish that timed out, the crash stop of --attach,
// an infrastructure error) and the report's trace, vCPUs and blocked tasks;
// marks the phases "schedule" and "finish". Each wait has the scenario's
// deadline (step_s, finish_s; 60 s by default).
// Returns whether the VM is still fit for another run from its snapshot:
// false after a target error (kError), a failed disarm (breakpoints may be
// left inserted) or a gdbstub connection that fell out of step.
bool enforce(const RunContext& ctx, RunState& run, const std::string& go_line, const Progress& progress);

}  // namespace racerig::run
