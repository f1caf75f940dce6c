// The service row of BENCHMARKS.md (issue 25) from its measurements
// (pb::ServiceBench, bench_service.h): jobs per hour with 1, 2, 3 worker
// processes as ratios of the 1-worker figure, and the queue latency.
#pragma once

#include <string>
#include <vector>

#include "proto/racerig.pb.h"

namespace racerig::host {

// `run`'s jobs per hour (jobs / wall); 0 when its wall is not positive.
double jobs_per_hour(const pb::ServiceBenchRun& run);

// The median of `v` (the mean of the middle two for an even count); 0 for
// none.
double median_of(std::vector<double> v);

// "3,231": `v` rounded to a whole number, thousands separated by commas.
std::string with_commas(double v);

// The section ("### ..." heading, the command's set-up in words, the table,
// the queue latency, what caps the ratios on `cores` cores, failures and
// an early stop as the text says them). Empty when `service` holds nothing
// (the row was not measured).
std::string render_service(const pb::ServiceBench& service, int cores);

}  // namespace racerig::host
