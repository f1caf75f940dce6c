// A validate job: judge candidate patches on the forced interleavings.
// Builds base+patches as a cached variant, runs every scenario on the base
// (the control) and on the patched kernel, and gives each scenario FIXED,
// NOT_FIXED, INCONCLUSIVE or ERROR. The orchestration of `racerig
// validate`, as a library.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "proto/racerig_service.pb.h"
#include "rig/base/result.h"
#include "rig/jobs/job_env.h"
#include "rig/jobs/job_kind.h"
#include "rig/process/cancel.h"
#include "rig/run/run.h"

namespace racerig::jobs {

// validate's exit codes beyond the common ones (README).
constexpr int kExitInconclusive = 4;
constexpr int kExitPatchError = 5;

struct ValidateRequest {
  std::vector<std::filesystem::path> patches;  // applied in order on the base
  std::vector<std::string> patch_names;        // shown in the report (empty: the paths)
  std::string base = "buggy";
  // Names or files; empty: the scenarios the base variant lists
  // (default_scenarios); {"all"}: every scenario.
  std::vector<std::string> scenarios;
  int runs = 3;
  bool cold = false;
  // A scenario with an explore {} block is also explored on each kernel
  // (verdict::classify_explored); false: its own schedule only (--no-explore).
  bool explore = true;
  // The patched kernel's exploration depth (1 or 2); the control is
  // explored at depth 1. Depth 2 stops at its first failure.
  int explore_depth = 1;
  run::RunOptions options;
};

struct ValidateOutcome {
  pb::ValidateReport report;
  // 0 every scenario FIXED, 1 NOT_FIXED, 2 a bad patch, 3 infrastructure
  // error or interrupted, 4 INCONCLUSIVE, 5 the patch does not apply or the
  // kernel does not build; several scenarios: the worst (README).
  int exit_code = 0;
  bool cancelled = false;
};

// Runs the job on the calling thread. Scenario errors come first (kInput,
// "scenario: ..."; a scenario without a schedule is one: it cannot prove a fix), then the control kernel ("kernel NAME:
// ..."); a patched kernel that does not build is not an error but a report with error set. `cancel` (may be null:
// signals only) stops the build or run in progress.
Result<ValidateOutcome> run_validate(const JobEnv& env, const ValidateRequest& request, JobObserver& observer,
                                     std::shared_ptr<process::CancelToken> cancel = nullptr);

// The scenarios a validate of `base` judges when none is named: those the
// variant `base` lists (its `scenarios`), or `all` when it lists none or is
// not among `variants` (an unknown base fails later, naming itself).
std::vector<std::string> default_scenarios(const std::vector<pb::Variant>& variants, const std::string& base,
                                           const std::vector<std::string>& all);

// The report of a job that failed before its scenarios ran (run_validate's
// error): the base, the patches, the versions and the error, so the JSON and
// JUnit reports are written all the same.
pb::ValidateReport validate_error_report(const JobEnv& env, const ValidateRequest& request, const Error& error);

// The validate kind for the paths that run every kind (job_kind.h).
struct ValidateKind {
  using Request = ValidateRequest;
  using Wire = pb::SubmitValidateRequest;
  using Report = pb::ValidateReport;
  static constexpr pb::JobKind kKind = pb::VALIDATE;
  static const Wire& wire(const pb::Job& job) { return job.validate(); }
  static Wire* mutable_wire(pb::Job& job) { return job.mutable_validate(); }
  static Wire* mutable_wire(pb::SubmitRequest& submit) { return submit.mutable_validate(); }
  static bool has_report(const pb::Job& job) { return job.has_validate_report(); }
  static const Report& report(const pb::Job& job) { return job.validate_report(); }
  static Report* mutable_report(pb::Job& job) { return job.mutable_validate_report(); }
  // Patches are written under `dir`/patches (report names: as sent), inline
  // scenarios under `dir`; an empty base is "buggy".
  static Result<Request> from_wire(const Wire& wire, const std::filesystem::path& dir, const run::RunOptions& options);
  // Patch and scenario files go inline ("all" is no scenario: every one);
  // the run options stay here.
  static Result<Wire> to_wire(const Request& request, const std::string& request_id);
  // run_validate; its error as failed_end; a report's own error (a patch
  // that does not apply) is the end's error.
  static JobEnd<Report> run(const JobEnv& env, const Request& request, JobObserver& observer,
                            std::shared_ptr<process::CancelToken> cancel);
  static Report error_report(const JobEnv& env, const Request& request, const Error& error) {
    return validate_error_report(env, request, error);
  }
};

}  // namespace racerig::jobs
