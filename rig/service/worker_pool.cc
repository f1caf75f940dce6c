// The worker pool (see worker_pool.h).
#include "rig/service/worker_pool.h"

#include <cstdio>
#include <optional>

#include "rig/service/event_recorder.h"

namespace racerig::service {

WorkerPool::WorkerPool(Store& store, JobRunner& runner, int workers)
    : store_(store), runner_(runner), count_(std::max(1, workers)) {}

WorkerPool::~WorkerPool() { stop(); }

int WorkerPool::default_workers(int vcpus_per_vm) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores / std::max(1, vcpus_per_vm));
}

void WorkerPool::start() {
  for (int i = 0; i < count_; ++i) threads_.emplace_back([this] { work(); });
  if (job_deadline_.count() > 0) watchdog_ = std::thread([this] { watch_deadlines(); });
}

void WorkerPool::watch_deadlines() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    auto next = std::chrono::steady_clock::time_point::max();
    for (auto it = deadlines_.begin(); it != deadlines_.end();) {
      if (it->second > now) {
        next = std::min(next, it->second);
        ++it;
        continue;
      }
      timed_out_.insert(it->first);
      if (auto run = running_.find(it->first); run != running_.end()) run->second->cancel();
      it = deadlines_.erase(it);
    }
    if (next == std::chrono::steady_clock::time_point::max())
      deadline_cv_.wait(lock);
    else
      deadline_cv_.wait_until(lock, next);
  }
}

void WorkerPool::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

bool WorkerPool::cancel(const std::string& job_id, const std::string& by) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = running_.find(job_id);
  if (it == running_.end()) return false;
  cancelled_by_.emplace(job_id, by);  // the first cancel is the one that counts
  it->second->cancel();
  return true;
}

void WorkerPool::stop() {
  if (stopping_.exchange(true)) {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, token] : running_) token->cancel();
  }
  cv_.notify_all();
  deadline_cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  if (watchdog_.joinable()) watchdog_.join();
}

void WorkerPool::work() {
  while (!stopping_) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = wakes_;
    }
    auto next = store_.claim_next(max_running_per_submitter_);
    if (!next.ok()) {
      std::fprintf(stderr, "racerigd: %s\n", next.error().message.c_str());
    } else if (*next) {
      run_job(std::move(**next));
      continue;
    }
    // Idle: wait for a submit (or look again now and then).
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return stopping_ || wakes_ != seen; });
  }
}

void WorkerPool::run_job(pb::Job job) {
  if (claim_hook_) claim_hook_(job);
  auto token = process::CancelToken::make();
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_[job.id()] = token;
    if (stopping_) token->cancel();
    if (job_deadline_.count() > 0) {
      deadlines_[job.id()] = std::chrono::steady_clock::now() + job_deadline_;
      deadline_cv_.notify_all();
    }
  }
  // A cancel that came between the claim and the line above found no token;
  // it marked the job in the store first, so it is seen here.
  std::optional<std::string> by;
  if (auto asked = store_.cancel_requested(job.id()); !asked.ok())
    std::fprintf(stderr, "racerigd: job %s: %s\n", job.id().c_str(), asked.error().message.c_str());
  else if (*asked)
    by = **asked;
  if (by) token->cancel();
  pb::JobState state = pb::CANCELLED;  // what a run that never started ended as
  bool timed_out = false;
  if (!token->cancelled()) {
    EventRecorder recorder(store_, job.id());
    state = runner_.run(job, recorder, token);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_.erase(job.id());
    deadlines_.erase(job.id());
    if (auto it = cancelled_by_.find(job.id()); it != cancelled_by_.end()) {
      if (!by) by = it->second;
      cancelled_by_.erase(it);
    }
    timed_out = timed_out_.erase(job.id()) > 0;
  }
  if (by) {  // a client's cancel: the job ends CANCELLED, whatever the run made of it
    state = pb::CANCELLED;
    job.set_cancelled_by(*by);
    if (job.error().empty()) job.set_error("cancelled by " + *by);
    job.set_exit_code(3);
  } else if (timed_out && state == pb::CANCELLED) {  // cut by its deadline, not requeued
    job.set_exit_code(3);
    job.set_error("the job ran past its deadline of " + std::to_string(job_deadline_.count() / 1000) +
                  " s (racerigd --job-deadline-h) and was cancelled");
  } else if (stopping_ && state == pb::CANCELLED) {
    // Stopped by the shutdown, not by a client: the job runs again later
    // (or ends CANCELLED, if a client's cancel reached the store meanwhile).
    if (Status s = store_.requeue(job.id(), "the daemon stopped"); !s.ok())
      std::fprintf(stderr, "racerigd: job %s: %s\n", job.id().c_str(), s.error().message.c_str());
    return;
  } else if (state == pb::CANCELLED) {
    job.set_exit_code(3);
    if (job.error().empty()) job.set_error("cancelled");
  }
  // A run that ended by itself while the daemon stopped is stored as it ended.
  job.set_state(state);
  auto stored = store_.finish(job);
  if (!stored.ok()) std::fprintf(stderr, "racerigd: job %s: %s\n", job.id().c_str(), stored.error().message.c_str());
}

}  // namespace racerig::service
