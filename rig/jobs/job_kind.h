// What every job kind (reproduce, validate, stress) gives the two paths that
// run jobs: the CLI (here or, with --server, on racerigd) and racerigd's
// runner. A kind is a struct of types and static functions (ReproduceKind in
// reproduce_job.h is one); the templates below are the paths' shared steps,
// written once for every kind:
//
//   struct SomeKind {
//     using Request = ...;  // the job's own request (local paths, RunOptions)
//     using Wire = ...;     // its pb::Submit*Request, what a client sends
//     racerigd using Report = ...;   // its report message static constexpr
//     pb::JobKind kKind = ...; static const Wire& wire(const pb::Job& job); //
//     the job record's request static Wire* mutable_wire(pb::Job& job); static
//     Wire* mutable_wire(pb::SubmitRequest& submit); static bool
//     has_report(const pb::Job& job); static const Report& report(const
//     pb::Job& job); static Report* mutable_report(pb::Job& job);
//     // The one conversion from the wire: inline scenarios and patches are
//     // written under `dir`; runs boot with `options`.
//     static Result<Request> from_wire(const Wire& wire, const
//     std::filesystem::path& dir,
//                                      const run::RunOptions& options);
//     // The request as a client sends it: local files go inline.
//     static Result<Wire> to_wire(const Request& request, const std::string&
//     request_id);
//     // Runs the job on the calling thread (cancel may be null: signals only).
//     static JobEnd<Report> run(const JobEnv& env, const Request& request,
//     JobObserver& observer,
//                               std::shared_ptr<process::CancelToken> cancel);
//     // The report of a job that failed before its runs.
//     static Report error_report(const JobEnv& env, const Request& request,
//     const Error& error);
//   };
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "proto/racerig_service.pb.h"
#include "rig/base/result.h"
#include "rig/jobs/job_env.h"
#include "rig/process/cancel.h"
#include "rig/run/run.h"

namespace racerig::jobs {

// How a job ended, whatever its kind and wherever it ran: what the CLI
// prints and exits with, and what racerigd records.
template <typename Report>
struct JobEnd {
  Report report;           // complete; or, when failed, what was asked, the versions and
                           // the error
  int exit_code = 0;       // what the CLI exits with (0, 1, 2, 3, or a kind's own codes)
  std::string error;       // why it failed, or a report's own error (validate); empty
                           // otherwise
  bool failed = false;     // it could not run: an error before its runs (error says which)
  bool cancelled = false;  // Ctrl-C, a signal or racerigd's cancel stopped it
};

// The end of a job that failed before its runs with `error`: the kind's
// error report, exit 2 for an input error and 3 for any other.
template <typename Kind>
JobEnd<typename Kind::Report> failed_end(const JobEnv& env, const typename Kind::Request& request, const Error& error) {
  JobEnd<typename Kind::Report> end;
  end.report = Kind::error_report(env, request, error);
  end.exit_code = error.kind == ErrorKind::kInput ? 2 : 3;
  end.error = error.message;
  end.failed = true;
  end.cancelled = process::cancelled();
  return end;
}

// Runs a job as racerigd received it: converts the record's wire request
// once (inline files under `dir`), runs it with `options`, and records its
// end in `job` (report, exit_code, error). Returns the final state:
// SUCCEEDED when it ran to its end, FAILED when it could not run, CANCELLED
// when `cancel` stopped it. Blocks for the whole job.
template <typename Kind>
pb::JobState run_submitted(const JobEnv& env, const run::RunOptions& options, const std::filesystem::path& dir,
                           pb::Job& job, JobObserver& observer, std::shared_ptr<process::CancelToken> cancel) {
  auto request = Kind::from_wire(Kind::wire(job), dir, options);
  if (!request.ok()) {
    job.set_error(request.error().message);
    job.set_exit_code(request.error().kind == ErrorKind::kInput ? 2 : 3);
    return process::cancelled() ? pb::CANCELLED : pb::FAILED;
  }
  JobEnd<typename Kind::Report> end = Kind::run(env, *request, observer, std::move(cancel));
  *Kind::mutable_report(job) = std::move(end.report);
  job.set_exit_code(end.exit_code);
  if (!end.error.empty()) job.set_error(end.error);
  if (end.cancelled) return pb::CANCELLED;
  return end.failed ? pb::FAILED : pb::SUCCEEDED;
}

// The end of a job as racerigd recorded it (the record a client followed
// to its end). A job that could not run, or has no report (cancelled before
// it started, interrupted), is failed, exit 2 or 3 as racerigd said, with
// the report racerigd made or else error_report(env, request, ...).
template <typename Kind>
JobEnd<typename Kind::Report> end_of(const pb::Job& job, const JobEnv& env, const typename Kind::Request& request) {
  JobEnd<typename Kind::Report> end;
  end.error = job.error();
  end.cancelled = job.state() == pb::CANCELLED;
  if (job.state() == pb::FAILED || !Kind::has_report(job)) {
    const Error error = make_error(job.exit_code() == 2 ? ErrorKind::kInput : ErrorKind::kIo, job.error());
    end.report = Kind::has_report(job) ? Kind::report(job) : Kind::error_report(env, request, error);
    end.exit_code = job.exit_code() == 2 ? 2 : 3;
    end.failed = true;
    return end;
  }
  end.report = Kind::report(job);
  end.exit_code = job.exit_code();
  return end;
}

}  // namespace racerig::jobs
