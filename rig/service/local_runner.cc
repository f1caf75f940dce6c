// The daemon's job runner (see local_runner.h).
#include "rig/service/local_runner.h"

#include "rig/jobs/explore_job.h"
#include "rig/jobs/job_kind.h"
#include "rig/jobs/reproduce_job.h"
#include "rig/jobs/stress_job.h"
#include "rig/jobs/validate_job.h"
#include "rig/process/cancel.h"

namespace racerig::service {

namespace {

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
  // The job's patches and inline files are its submitter's alone (the
  // daemon reads them; builds get their contents, not the directory).
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
  if (ec) return failed(job, make_error(ErrorKind::kIo, "chmod 700 " + dir.string() + ": " + ec.message()));
  switch (job.request_case()) {
    case pb::Job::kReproduce:
      return jobs::run_submitted<jobs::ReproduceKind>(env_, options_, dir, job, observer, cancel);
    case pb::Job::kValidate: return jobs::run_submitted<jobs::ValidateKind>(env_, options_, dir, job, observer, cancel);
    case pb::Job::kStress: return jobs::run_submitted<jobs::StressKind>(env_, options_, dir, job, observer, cancel);
    case pb::Job::kExplore: return jobs::run_submitted<jobs::ExploreKind>(env_, options_, dir, job, observer, cancel);
    default: return failed(job, make_error(ErrorKind::kInput, "the job has no request"));
  }
}

}  // namespace racerig::service
