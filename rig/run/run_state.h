// The state of one run as its steps fill it in, shared by run_once (run.cc)
// and SnapshotRunner (snapshot_runner.cc). What is the same for every run of
// a scenario on one kernel is the RunContext (run.h); what one run has is
// here.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "proto/racerig.pb.h"
#include "rig/run/guest_monitor.h"
#include "rig/run/live_vm.h"
#include "rig/run/run.h"
#include "rig/verdict/verdict.h"

namespace racerig::run {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Milliseconds from `t` to now.
inline double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Records phase timings into a report: each mark() adds the time since the
// previous mark (the first: since construction) under its name.
class Phases {
 public:
  explicit Phases(pb::RunReport& report) : report_(report), since_(Clock::now()) {}
  void mark(const std::string& name) {
    pb::PhaseTiming* t = report_.add_timings();
    t->set_phase(name);
    t->set_ms(ms_since(since_));
    since_ = Clock::now();
  }

 private:
  pb::RunReport& report_;
  Clock::time_point since_;
};

// One run. Each step adds its part:
//   construction  t0, the report (scenario, kernel, run index), the phase
//                 clock (started at t0)
//   watch()       the VM and its gdbstub (owned by the caller: run_once, or
//                 SnapshotRunner across runs) and a fresh monitor on it
//   boot_to_ready the boot and set-up phases (boot.h)
//   enforce()     the schedule's evidence; the report's trace, vCPUs and
//                 blocked tasks (enforce.h)
//   judge()       the rest of the evidence; the report's verdict, reason,
//                 oops and agent events (judge.h)
// Neither copied nor moved: the phase clock refers to the report in it.
struct RunState {
  // A report for run `index`: scenario, kernel and its build id.
  RunState(const RunContext& ctx, int index);
  RunState(const RunState&) = delete;
  RunState& operator=(const RunState&) = delete;

  // Watches `live` from now on: a monitor on its VM for the scenario's
  // expectation. `live` must outlive the steps that follow.
  void watch(const RunContext& ctx, Live& live);
  // The watched VM (watch() first).
  machine::Machine& vm() const { return *live->vm; }

  const Clock::time_point t0;
  pb::RunReport report;
  Phases phases;
  Live* live = nullptr;
  std::optional<VmMonitor> monitor;
  verdict::Evidence evidence;
};

}  // namespace racerig::run
