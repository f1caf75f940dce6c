// `racerig bench`'s service row (issue 25): racerigd frontends and workers
// on a shared PostgreSQL queue, on this machine. A PostgreSQL server of the
// bench's own (rig/service/local_postgres.h); per worker count (1, 2, 3) a
// fresh database, one frontend (racerigd --workers 0) and that many worker
// processes (racerigd --worker --workers 1), the racerigd found next to the
// racerig binary; N reproduce jobs submitted at once, each by its own
// `racerig reproduce --server` client (the path a user takes); the wall
// time until the last client ended. Then, on the 1-worker set-up with its
// worker idle, the queue latency (submit to start) of jobs submitted one
// at a time. Everything it starts is stopped and removed on every path
// (an error, a deadline, Ctrl-C).
#pragma once

#include <filesystem>
#include <string>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"

namespace racerig::host {

struct ServiceBenchOptions {
  std::string scenario = "xfs-dax-flip-vs-write-fault";
  std::string kernel = "buggy";
  int jobs = 12;            // submitted at once, per worker count
  int max_workers = 3;      // 1 .. max_workers worker processes
  int latency_samples = 5;  // jobs submitted one at a time for the queue latency
};

// Measures the service row into `*out` (figures as they come, so an error
// keeps the ones taken before it). On an error, out->error() says which
// step failed and why, and the same error is returned: kInput when racerigd
// is not next to racerig, kIo for a process or the database, kTimeout at a
// deadline, kCancelled on Ctrl-C. The kernel must be built already (the
// first job of the first set-up then makes the template and the ready-state
// snapshot it lacks: a warm-up job, not counted, comes first).
Status bench_service(const ServiceBenchOptions& options, pb::ServiceBench* out);

// The racerigd beside the running racerig binary (/proc/self/exe's
// directory); kInput naming where it looked when it is not there or not
// executable.
Result<std::filesystem::path> racerigd_beside_racerig();

// The job id a `racerig reproduce --server` client printed when its submit
// was accepted ("racerig: job 17 on unix:/x.sock (racerig watch 17)"), from
// its whole output. kProtocol quoting the output's start when no such line
// is there.
Result<std::string> submitted_job_id(const std::string& client_output);

}  // namespace racerig::host
