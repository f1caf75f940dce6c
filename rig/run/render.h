// Human rendering of a run's report (what `racerig reproduce` and `stress`
// print per run).
#pragma once

#include <string>

#include "proto/racerig.pb.h"

namespace racerig::run {

// The verdict line, the phase timings, where logs were kept; the schedule
// trace (always when verbose, else unless REPRODUCED), the oops, blocked
// tasks, vCPUs, and the agent events that explain the verdict (all of them
// when verbose).
std::string render_run(const pb::RunReport& report, bool verbose);

// The first line of render_run, without its newline: "run 2: REPRODUCED — reason".
std::string verdict_line(const pb::RunReport& report);

// What `racerig reproduce` prints after its runs: "SCENARIO on KERNEL: 2/3 reproduced".
std::string reproduce_line(const pb::ReproduceReport& report);

}  // namespace racerig::run
