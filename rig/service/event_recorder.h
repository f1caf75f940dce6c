// A job's progress as stored events: kernel build stages, sampled compile
// progress, notes and each run's verdict (its console left out: that is in
// the final report).
#pragma once

#include <chrono>
#include <string>

#include "rig/jobs/job_env.h"
#include "rig/service/store.h"

namespace racerig::service {

class EventRecorder : public jobs::JobObserver {
 public:
  // Appends to `job_id` as attempt `lease` (a stale lease's events are refused).
  EventRecorder(Store& store, std::string job_id, Lease lease)
      : store_(store), job_id_(std::move(job_id)), lease_(std::move(lease)) {}
  void stage(const std::string& variant, const std::string& what) override;
  // Stored at most once per `kCompileEvery` steps or 2 s.
  void compile(const std::string& variant, const std::string& line, const kbuild::BuildProgress& progress) override;
  void note(const std::string& line) override;
  void run_done(const std::string& label, const pb::RunReport& report) override;

  static constexpr int kCompileEvery = 200;

 private:
  void append(pb::JobEvent event);
  Store& store_;
  std::string job_id_;
  Lease lease_;
  int steps_ = 0;
  std::chrono::steady_clock::time_point last_compile_{};
};

}  // namespace racerig::service
