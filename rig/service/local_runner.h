// The daemon's job runner: runs a job's request with rig/jobs (its wire
// request converted there once, its inline files under the job's directory).
#pragma once

#include <filesystem>

#include "rig/jobs/job_env.h"
#include "rig/run/run.h"
#include "rig/service/runner.h"

namespace racerig::service {

class LocalRunner : public JobRunner {
 public:
  // `jobs_dir`: one directory per job is made under it; `options`: how runs
  // boot (cpus, work_dir).
  LocalRunner(jobs::JobEnv env, std::filesystem::path jobs_dir, run::RunOptions options)
      : env_(std::move(env)), jobs_dir_(std::move(jobs_dir)), options_(std::move(options)) {}
  pb::JobState run(pb::Job& job, jobs::JobObserver& observer, std::shared_ptr<process::CancelToken> cancel) override;

 private:
  jobs::JobEnv env_;
  std::filesystem::path jobs_dir_;
  run::RunOptions options_;
};

}  // namespace racerig::service
