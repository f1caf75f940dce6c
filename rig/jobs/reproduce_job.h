// A reproduce job: force one scenario's interleaving on one kernel, N runs.
// The orchestration of `racerig reproduce`, as a library: the CLI prints
// what the observer sees, the service stores it as events.
#pragma once

#include <memory>
#include <string>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/jobs/job_env.h"
#include "rig/process/cancel.h"
#include "rig/run/run.h"

namespace racerig::jobs {

struct ReproduceRequest {
  std::string scenario;  // a name under scenarios/, or a file
  std::string kernel;    // a variant of kernels/variants.textproto
  int runs = 1;
  bool cold = false;     // boot per run instead of restoring a snapshot (attach implies it)
  run::RunOptions options;
};

struct ReproduceOutcome {
  pb::ReproduceReport report;
  int infra_errors = 0;    // runs with INFRA_ERROR
  bool cancelled = false;  // stopped early by the token or a signal
};

// Runs the job on the calling thread. Input errors (scenario, kernel name,
// unknown symbol) come before anything builds or boots, as kInput errors
// prefixed with what was wrong ("scenario: ..."); other failures before the
// first run are errors too. Once runs start, every failure is a run's
// verdict. `cancel` (may be null: signals only) stops the build or the run
// in progress and skips the rest.
Result<ReproduceOutcome> run_reproduce(const JobEnv& env, const ReproduceRequest& request, JobObserver& observer,
                                       std::shared_ptr<process::CancelToken> cancel = nullptr);

// 0 every run reproduced, 1 some or none, 3 interrupted or a run's
// infrastructure error (the CLI's exit codes).
int reproduce_exit_code(const ReproduceOutcome& outcome);

// The report of a job that failed before its runs (run_reproduce's error):
// what was asked, the versions, and the error, so CI gets a report all the same.
pb::ReproduceReport reproduce_error_report(const JobEnv& env, const ReproduceRequest& request, const Error& error);

}  // namespace racerig::jobs
