// A reproduce job: force one scenario's interleaving on one kernel, N runs.
// The orchestration of `racerig reproduce`, as a library: the CLI prints
// what the observer sees, the service stores it as events.
#pragma once

#include <memory>
#include <string>

#include "proto/racerig.pb.h"
#include "proto/racerig_service.pb.h"
#include "rig/base/result.h"
#include "rig/jobs/job_env.h"
#include "rig/jobs/job_kind.h"
#include "rig/process/cancel.h"
#include "rig/run/run.h"

namespace racerig::jobs {

struct ReproduceRequest {
  std::string scenario;  // a name under scenarios/, or a file
  std::string kernel;    // a variant of kernels/variants.textproto
  int runs = 1;
  bool cold = false;  // boot per run instead of restoring a snapshot (attach implies it)
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

// A finished reproduce or stress run loop as a job's end: its report, exit
// code (reproduce_exit_code) and whether it was cancelled.
JobEnd<pb::ReproduceReport> reproduce_end(ReproduceOutcome outcome);

// The report of a job that failed before its runs (run_reproduce's error):
// what was asked, the versions, and the error, so CI gets a report all the same.
pb::ReproduceReport reproduce_error_report(const JobEnv& env, const ReproduceRequest& request, const Error& error);

// The reproduce kind for the paths that run every kind (job_kind.h).
struct ReproduceKind {
  using Request = ReproduceRequest;
  using Wire = pb::SubmitReproduceRequest;
  using Report = pb::ReproduceReport;
  static constexpr pb::JobKind kKind = pb::REPRODUCE;
  static const Wire& wire(const pb::Job& job) { return job.reproduce(); }
  static Wire* mutable_wire(pb::Job& job) { return job.mutable_reproduce(); }
  static Wire* mutable_wire(pb::SubmitRequest& submit) { return submit.mutable_reproduce(); }
  static bool has_report(const pb::Job& job) { return job.has_reproduce_report(); }
  static const Report& report(const pb::Job& job) { return job.reproduce_report(); }
  static Report* mutable_report(pb::Job& job) { return job.mutable_reproduce_report(); }
  // An inline scenario is written under `dir`.
  static Result<Request> from_wire(const Wire& wire, const std::filesystem::path& dir, const run::RunOptions& options);
  // A scenario file goes inline; the run options stay here.
  static Result<Wire> to_wire(const Request& request, const std::string& request_id);
  // run_reproduce; its error as failed_end, its outcome with reproduce_exit_code.
  static JobEnd<Report> run(const JobEnv& env, const Request& request, JobObserver& observer,
                            std::shared_ptr<process::CancelToken> cancel);
  static Report error_report(const JobEnv& env, const Request& request, const Error& error) {
    return reproduce_error_report(env, request, error);
  }
};

}  // namespace racerig::jobs
