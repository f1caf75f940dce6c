// The stress baseline, shared by `racerig stress` and `racerig bench`.
#pragma once

#include <string>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/run/run.h"

namespace racerig::host {

struct StressSession {
  run::RunContext context;
};

// Sets every fsx op's seed and duration and every flip loop's duration.
void set_stress_parameters(pb::Scenario& scenario, uint64_t seed, uint64_t duration_ms);
// Loads a stress scenario (no schedule), builds the kernel, loads symbols.
Result<StressSession> prepare_stress(const std::string& scenario_arg, const std::string& kernel,
                                     const run::RunOptions& options);
pb::RunReport run_stress_once(StressSession& session, int index, uint64_t seed, double duration_s,
                              const run::Progress& progress);

}  // namespace racerig::host
