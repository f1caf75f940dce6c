// Waiting on a running guest between two commands of a step (boot, the
// NVDIMM template, a run without a schedule), and the scenario's deadlines
// in seconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "rig/base/result.h"
#include "rig/run/guest_monitor.h"
#include "rig/run/rsp_target.h"

namespace racerig::run {

// A scenario deadline in seconds: `v`, or `dflt` when the scenario leaves
// it 0.
inline double deadline_s(uint32_t v, uint32_t dflt) { return static_cast<double>(v != 0 ? v : dflt); }

// vCPUs 0 .. cpus-1.
inline std::vector<int> all_vcpus(int cpus) {
  std::vector<int> all;
  for (int v = 0; v < cpus; ++v) all.push_back(v);
  return all;
}

// Waits while the VM runs until `done()` says so, the guest ends, or the
// deadline passes. Returns false on the deadline, an error when the target
// fails. All `vcpus` are resumed after an unexpected stop (nothing of ours
// is armed).
template <typename Done>
Result<bool> wait_running(RspTarget& target, VmMonitor& monitor, Deadline deadline, Done done, int vcpus) {
  while (true) {
    monitor.poll();
    if (done()) return true;
    auto ev = target.wait(deadline);
    if (!ev.ok()) {
      if (ev.error().kind == ErrorKind::kTimeout) return false;
      return ev.error();
    }
    if (ev->kind == schedule::StopEvent::Kind::kExited) {
      monitor.poll();
      return true;
    }
    if (ev->kind != schedule::StopEvent::Kind::kWoken)
      RACERIG_TRY(target.resume(all_vcpus(vcpus), Deadline::after(std::chrono::milliseconds(5000))));
  }
}

}  // namespace racerig::run
