// A stress job: the unforced baseline. No forced schedule: a stress scenario
// (an fsx-like actor against a FS_XFLAG_DAX flip loop) runs for a while per
// run, and we see whether (and when) the kernel oopses. Same boot, oops
// analysis and report as a reproduce job. The orchestration of `racerig
// stress`, as a library; `racerig bench` runs its sessions too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "proto/racerig.pb.h"
#include "proto/racerig_service.pb.h"
#include "rig/base/result.h"
#include "rig/jobs/job_env.h"
#include "rig/jobs/job_kind.h"
#include "rig/jobs/reproduce_job.h"
#include "rig/process/cancel.h"
#include "rig/run/run.h"
#include "rig/run/snapshot_runner.h"

namespace racerig::jobs {

struct StressRequest {
  std::string scenario = "stress-fsx-vs-dax-flip";  // a name under scenarios/stress/, or a file
  std::string kernel;                               // a variant of kernels/variants.textproto
  int runs = 1;
  int duration_s = 60;  // per run
  uint64_t seed = 0;    // fsx seed of run 1 (run i: seed+i-1); 0: a random one
  bool cold = false;    // boot per run instead of restoring one snapshot
  run::RunOptions options;
};

// A stress job ends as a reproduce job does: REPRODUCED is "hit the
// scenario's oops".
using StressOutcome = ReproduceOutcome;

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
// flip loop's duration, and the finish deadline to fit them.
void set_stress_parameters(pb::Scenario& scenario, uint64_t seed, uint64_t duration_ms, bool seed_from_go);
// Loads a stress scenario (a name under env's scenarios/stress/, or a file;
// one with a schedule is kInput), builds the kernel if needed (progress to
// `observer`), loads its symbols. Unprefixed errors.
Result<std::unique_ptr<StressSession>> prepare_stress(const JobEnv& env, const std::string& scenario,
                                                      const std::string& kernel, const run::RunOptions& options,
                                                      int duration_s, bool cold, JobObserver& observer);
// One run with fsx seed `seed`: a cold boot, or a restore of the session's
// snapshot (taken after guest set-up, before fsx and the flip loop start).
// Failures are the run's verdict.
pb::RunReport run_stress_once(StressSession& session, int index, uint64_t seed, const run::Progress& progress);

// Runs the job on the calling thread: prepare_stress, then `runs` runs, each
// announced with a note ("run I: fsx seed S, D s"). Errors before the runs
// are errors; after, every failure is a run's verdict. `cancel` (may be
// null: signals only) stops the build or run in progress and skips the rest.
Result<StressOutcome> run_stress(const JobEnv& env, const StressRequest& request, JobObserver& observer,
                                 std::shared_ptr<process::CancelToken> cancel = nullptr);

// The report of a job that failed before its runs: what was asked, the
// versions, and the error ("stress: ...").
pb::ReproduceReport stress_error_report(const JobEnv& env, const StressRequest& request, const Error& error);

// The stress kind for the paths that run every kind (job_kind.h).
struct StressKind {
  using Request = StressRequest;
  using Wire = pb::SubmitStressRequest;
  using Report = pb::ReproduceReport;
  static constexpr pb::JobKind kKind = pb::STRESS;
  static const Wire& wire(const pb::Job& job) { return job.stress(); }
  static Wire* mutable_wire(pb::Job& job) { return job.mutable_stress(); }
  static Wire* mutable_wire(pb::SubmitRequest& submit) { return submit.mutable_stress(); }
  static bool has_report(const pb::Job& job) { return job.has_stress_report(); }
  static const Report& report(const pb::Job& job) { return job.stress_report(); }
  static Report* mutable_report(pb::Job& job) { return job.mutable_stress_report(); }
  // An inline scenario is written under `dir`.
  static Result<Request> from_wire(const Wire& wire, const std::filesystem::path& dir, const run::RunOptions& options);
  // A scenario file goes inline; the run options stay here.
  static Result<Wire> to_wire(const Request& request, const std::string& request_id);
  // run_stress; its error as failed_end, its outcome with reproduce_exit_code.
  static JobEnd<Report> run(const JobEnv& env, const Request& request, JobObserver& observer,
                            std::shared_ptr<process::CancelToken> cancel);
  static Report error_report(const JobEnv& env, const Request& request, const Error& error) {
    return stress_error_report(env, request, error);
  }
};

}  // namespace racerig::jobs
