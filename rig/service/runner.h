// Runs one job's request. The daemon's runner (LocalRunner) calls rig/jobs;
// the service's unit tests give the pool a fake one.
#pragma once

#include <memory>

#include "proto/racerig_service.pb.h"
#include "rig/jobs/job_env.h"
#include "rig/process/cancel.h"

namespace racerig::service {

class JobRunner {
 public:
  virtual ~JobRunner() = default;
  // Runs `job` (its reproduce, validate, stress or explore request) on the calling thread and
  // fills its report, exit_code and error. Returns the final state:
  // SUCCEEDED when a report was made, FAILED when the job could not run,
  // CANCELLED when `cancel` stopped it. Progress goes to `observer`.
  virtual pb::JobState run(pb::Job& job, jobs::JobObserver& observer, std::shared_ptr<process::CancelToken> cancel) = 0;
};

}  // namespace racerig::service
