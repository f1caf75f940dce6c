// The daemon's job runner (see local_runner.h).
#include "rig/service/local_runner.h"

#include "rig/base/file.h"
#include "rig/jobs/reproduce_job.h"
#include "rig/jobs/validate_job.h"

namespace racerig::service {

namespace {

// A scenario reference as rig/jobs takes it: a name, or a file written
// under the job's directory.
Result<std::string> scenario_arg(const pb::ScenarioRef& ref, const std::filesystem::path& dir, int index) {
  if (ref.has_name()) return ref.name();
  std::filesystem::path file = dir / ("inline-" + std::to_string(index) + ".textproto");
  RACERIG_TRY(write_file(file, ref.textproto()));
  return file.string();
}

pb::JobState failed(pb::Job& job, const Error& error) {
  job.set_error(error.message);
  job.set_exit_code(error.kind == ErrorKind::kInput ? 2 : 3);
  return process::cancelled() ? pb::CANCELLED : pb::FAILED;
}

}  // namespace

pb::JobState LocalRunner::run(pb::Job& job, jobs::JobObserver& observer, std::shared_ptr<process::CancelToken> cancel) {
  process::ScopedCancel scope(cancel);
  const std::filesystem::path dir = jobs_dir_ / job.id();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return failed(job, make_error(ErrorKind::kIo, "creating " + dir.string() + ": " + ec.message()));

  if (job.has_reproduce()) {
    const auto& r = job.reproduce();
    jobs::ReproduceRequest request;
    auto scenario = scenario_arg(r.scenario(), dir, 0);
    if (!scenario.ok()) return failed(job, scenario.error());
    request.scenario = *scenario;
    request.kernel = r.kernel();
    request.runs = r.runs();
    request.cold = r.cold();
    request.options = options_;
    auto outcome = jobs::run_reproduce(env_, request, observer, cancel);
    if (!outcome.ok()) {
      // Failed before its runs: the report all the same, with the error.
      *job.mutable_reproduce_report() = jobs::reproduce_error_report(env_, request, outcome.error());
      return failed(job, outcome.error());
    }
    *job.mutable_reproduce_report() = outcome->report;
    job.set_exit_code(jobs::reproduce_exit_code(*outcome));
    return outcome->cancelled ? pb::CANCELLED : pb::SUCCEEDED;
  }
  if (job.has_validate()) {
    const auto& v = job.validate();
    jobs::ValidateRequest request;
    std::filesystem::path patch_dir = dir / "patches";
    std::filesystem::create_directories(patch_dir, ec);
    for (int i = 0; i < v.patches_size(); ++i) {
      // A numbered sub-directory keeps two patches of one name apart and the
      // file name (whose stem names the patched variant) as the client sent it.
      std::filesystem::path file = patch_dir / std::to_string(i) / v.patches(i).name();
      std::filesystem::create_directories(file.parent_path(), ec);
      if (Status s = write_file(file, v.patches(i).content()); !s.ok()) return failed(job, s.error());
      request.patches.push_back(file);
      request.patch_names.push_back(v.patches(i).name());
    }
    request.base = v.base().empty() ? "buggy" : v.base();
    for (int i = 0; i < v.scenarios_size(); ++i) {
      auto scenario = scenario_arg(v.scenarios(i), dir, i);
      if (!scenario.ok()) return failed(job, scenario.error());
      request.scenarios.push_back(*scenario);
    }
    request.runs = v.runs();
    request.cold = v.cold();
    request.options = options_;
    auto outcome = jobs::run_validate(env_, request, observer, cancel);
    if (!outcome.ok()) {
      // Failed before its scenarios ran: the report all the same, with the error.
      *job.mutable_validate_report() = jobs::validate_error_report(env_, request, outcome.error());
      return failed(job, outcome.error());
    }
    *job.mutable_validate_report() = outcome->report;
    job.set_exit_code(outcome->exit_code);
    if (!outcome->report.error().empty()) job.set_error(outcome->report.error());
    return outcome->cancelled ? pb::CANCELLED : pb::SUCCEEDED;
  }
  return failed(job, make_error(ErrorKind::kInput, "the job has no request"));
}

}  // namespace racerig::service
