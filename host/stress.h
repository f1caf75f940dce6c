// The stress baseline, shared by `racerig stress` and `racerig bench`.
#pragma once

#include <memory>
#include <string>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/run/run.h"
#include "rig/run/snapshot_runner.h"

namespace racerig::host {

// One stress configuration (scenario, kernel, duration) and, unless cold,
// the snapshot its runs start from.
struct StressSession {
  run::RunContext context;  // durations set; from a snapshot, fsx seeds come with "go"
  bool cold = false;
  int duration_s = 60;
  std::unique_ptr<run::SnapshotRunner> snapshot;  // made by the first run
};

// Sets every fsx op's duration and seed (from_go: the seed comes with the
// host's "go" line instead, so one snapshot serves every seed) and every
// flip loop's duration.
void set_stress_parameters(pb::Scenario& scenario, uint64_t seed, uint64_t duration_ms, bool seed_from_go);
// Loads a stress scenario (no schedule), builds the kernel, loads symbols.
Result<std::unique_ptr<StressSession>> prepare_stress(const std::string& scenario_arg, const std::string& kernel,
                                                      const run::RunOptions& options, int duration_s, bool cold);
// One run with fsx seed `seed`: a cold boot, or a restore of the session's
// snapshot (taken after guest set-up, before fsx and the flip loop start).
pb::RunReport run_stress_once(StressSession& session, int index, uint64_t seed, const run::Progress& progress);

}  // namespace racerig::host
