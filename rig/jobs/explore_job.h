// An explore job: every schedule of a scenario's explore {} window on one
// kernel (rig/explore: trace each explored actor's code points, then hold
// one actor at each point while another runs to its end), and the map of
// point -> verdict as an ExploreReport. The orchestration of `racerig
// explore`, as a library: the CLI prints what the observer sees, racerigd
// stores it as events.
#pragma once

#include <filesystem>
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

struct ExploreRequest {
  std::string scenario;   // a name under scenarios/, or a file; it must have explore {}
  std::string kernel;     // a variant of kernels/variants.textproto
  int max_schedules = 0;  // 0: every schedule; else at most this many (the first ones)
  int depth = 1;          // 1 or 2 (explore::ExploreOptions::depth)
  int vms = 0;            // VMs at once (explore::ExploreOptions::vms); 0: as the cores allow
  run::RunOptions options;
};

struct ExploreOutcome {
  pb::ExploreReport report;  // error set when the exploration stopped before its schedules
  bool cancelled = false;    // stopped early by the token or a signal
};

// Runs the job on the calling thread. Input errors (scenario that does not
// load or has no explore {} block, kernel name, unknown symbol) come before
// anything builds or boots, as kInput errors prefixed with what was wrong
// ("scenario: ..."); other failures before the exploration are errors too.
// Then explore::explore: each progress line is an observer.note(), and each
// schedule's end a note "schedule n of N: <held> at <function file:line
// #visit> while <runner> runs: <VERDICT>". Failures once it started are in
// the report (its error, or a schedule's verdict). `cancel` (may be null:
// signals only) stops the build or the schedule in progress and skips the rest.
Result<ExploreOutcome> run_explore(const JobEnv& env, const ExploreRequest& request, JobObserver& observer,
                                   std::shared_ptr<process::CancelToken> cancel = nullptr);

// The note for schedule `done` of `total`: "schedule 3 of 40: a at
// __xfs_filemap_fault fs/xfs/xfs_file.c:1350 #1 while b runs: REPRODUCED"
// (NOT_REPRODUCED (serialized) for a serialized one).
std::string schedule_line(const pb::ExploredSchedule& done, int total);

// The CLI's exit codes: 3 when interrupted, when the report has an error
// (the trace or the window failed) or when a schedule was an INFRA_ERROR
// (the map is incomplete); else 0 when at least one schedule REPRODUCED
// (the race is there), 1 when none did. (2, an input error, is failed_end's.)
int explore_exit_code(const ExploreOutcome& outcome);

// A finished exploration as a job's end: its report, explore_exit_code, the
// report's error; failed when it has an error and no schedule ran (the map
// could not be made).
JobEnd<pb::ExploreReport> explore_end(ExploreOutcome outcome);

// The report of a job that failed before the exploration (run_explore's
// error): what was asked, the versions, and the error, so CI gets a report
// all the same.
pb::ExploreReport explore_error_report(const JobEnv& env, const ExploreRequest& request, const Error& error);

// The explore kind for the paths that run every kind (job_kind.h).
struct ExploreKind {
  using Request = ExploreRequest;
  using Wire = pb::SubmitExploreRequest;
  using Report = pb::ExploreReport;
  static constexpr pb::JobKind kKind = pb::EXPLORE;
  static const Wire& wire(const pb::Job& job) { return job.explore(); }
  static Wire* mutable_wire(pb::Job& job) { return job.mutable_explore(); }
  static Wire* mutable_wire(pb::SubmitRequest& submit) { return submit.mutable_explore(); }
  static bool has_report(const pb::Job& job) { return job.has_explore_report(); }
  static const Report& report(const pb::Job& job) { return job.explore_report(); }
  static Report* mutable_report(pb::Job& job) { return job.mutable_explore_report(); }
  // An inline scenario is written under `dir`.
  static Result<Request> from_wire(const Wire& wire, const std::filesystem::path& dir, const run::RunOptions& options);
  // A scenario file goes inline; the run options stay here.
  static Result<Wire> to_wire(const Request& request, const std::string& request_id);
  // run_explore; its error as failed_end, its outcome as explore_end.
  static JobEnd<Report> run(const JobEnv& env, const Request& request, JobObserver& observer,
                            std::shared_ptr<process::CancelToken> cancel);
  static Report error_report(const JobEnv& env, const Request& request, const Error& error) {
    return explore_error_report(env, request, error);
  }
};

}  // namespace racerig::jobs
