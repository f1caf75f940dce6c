// The worker pool (see worker_pool.h).
#include "rig/service/worker_pool.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <optional>

#include "rig/service/event_recorder.h"

namespace racerig::service {

namespace {

// This machine's host name ("?" when it has none).
std::string host_name() {
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return *host ? host : "?";
}

// "HOST:PID": who this process's leases belong to, for people reading them.
std::string process_name() { return host_name() + ":" + std::to_string(::getpid()); }

}  // namespace

WorkerPool::WorkerPool(Store& store, JobRunner& runner, int workers)
    : store_(store), runner_(runner), count_(std::max(0, workers)), owner_prefix_(process_name()) {}

WorkerPool::~WorkerPool() { stop(); }

int WorkerPool::default_workers(int vcpus_per_vm) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores / std::max(1, vcpus_per_vm));
}

void WorkerPool::start() {
  started_unix_ms_ = now_unix_ms();
  for (int i = 0; i < count_; ++i) threads_.emplace_back([this, i] { work(i); });
  if (count_ > 0) lease_keeper_ = std::thread([this] { keep_leases(); });
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
      if (auto run = running_.find(it->first); run != running_.end()) run->second.token->cancel();
      it = deadlines_.erase(it);
    }
    if (next == std::chrono::steady_clock::time_point::max())
      deadline_cv_.wait(lock);
    else
      deadline_cv_.wait_until(lock, next);
  }
}

void WorkerPool::keep_leases() {
  const auto every = std::max(lease_ / 3, std::chrono::milliseconds(1));
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto round = std::chrono::steady_clock::now();
    const uint64_t seen = store_.generation();
    std::map<std::string, Lease> leases;
    for (const auto& [id, run] : running_) leases.emplace(id, run.lease);
    lock.unlock();
    beat();
    for (const auto& [id, lease] : leases) {
      auto renewal = store_.renew(id, lease, lease_);
      std::lock_guard<std::mutex> held(mu_);
      auto run = running_.find(id);
      if (run == running_.end() || run->second.lease.attempt != lease.attempt) continue;  // ended meanwhile
      if (!renewal.ok()) {
        std::fprintf(stderr, "racerigd: job %s: renewing its lease: %s\n", id.c_str(), renewal.error().message.c_str());
        // Unrenewed past its expiry, the job may be another worker's now.
        if (std::chrono::steady_clock::now() - run->second.renewed < lease_) continue;
      } else if (renewal->held) {
        run->second.renewed = std::chrono::steady_clock::now();
        if (renewal->cancelled_by) {  // cancelled through another process
          cancelled_by_.emplace(id, *renewal->cancelled_by);
          run->second.token->cancel();
        }
        continue;
      }
      if (lost_.insert(id).second) {
        std::fprintf(stderr, "racerigd: job %s: attempt %d lost its lease; stopping the run (its end is not stored)\n",
                     id.c_str(), lease.attempt);
        run->second.token->cancel();
      }
    }
    // Jobs of workers that died (here or on another host) go back to the queue.
    if (auto n = store_.requeue_expired(max_attempts_); !n.ok())
      std::fprintf(stderr, "racerigd: requeueing expired leases: %s\n", n.error().message.c_str());
    else if (*n > 0)
      std::fprintf(stderr, "racerigd: %d job(s) whose worker's lease expired queued again\n", *n);
    lock.lock();
    // The next round after `every`; sooner when the store changed while a
    // job runs here (a cancel through another frontend reaches the run
    // within about a second), but at most one round a second.
    uint64_t watched = seen;
    while (!stopping_) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= round + every) break;
      if (const uint64_t g = store_.generation(); g != watched) {
        if (!running_.empty()) {
          lease_cv_.wait_until(lock, std::max(now, round + std::chrono::seconds(1)), [&] { return stopping_.load(); });
          break;
        }
        watched = g;  // nothing runs here: no early round
      }
      lock.unlock();
      store_.wait_for_change(watched, std::chrono::duration_cast<std::chrono::milliseconds>(round + every - now));
      lock.lock();
    }
  }
}

void WorkerPool::wake() { store_.poke(); }

bool WorkerPool::cancel(const std::string& job_id, const std::string& by) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = running_.find(job_id);
  if (it == running_.end()) return false;
  cancelled_by_.emplace(job_id, by);  // the first cancel is the one that counts
  it->second.token->cancel();
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
    for (auto& [id, run] : running_) run.token->cancel();
  }
  store_.poke();
  deadline_cv_.notify_all();
  lease_cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  if (watchdog_.joinable()) watchdog_.join();
  if (lease_keeper_.joinable()) lease_keeper_.join();
  // Stopped cleanly: no longer a worker (a killed one shows as lost).
  if (count_ > 0)
    if (Status s = store_.remove_worker(owner_prefix_); !s.ok())
      std::fprintf(stderr, "racerigd: worker %s: %s\n", owner_prefix_.c_str(), s.error().message.c_str());
}

std::vector<std::string> WorkerPool::held() const {
  std::vector<std::string> keys = inventory_ ? inventory_() : std::vector<std::string>();
  std::sort(keys.begin(), keys.end());
  return keys;
}

void WorkerPool::beat() {
  pb::Worker w;
  w.set_name(owner_prefix_);
  w.set_host(host_name());
  w.set_pid(::getpid());
  w.set_started_unix_ms(started_unix_ms_);
  w.set_slots(count_);
  w.set_backend(backend_);
  for (auto& key : held()) w.add_kernels(std::move(key));
  {
    std::lock_guard<std::mutex> lock(mu_);
    w.set_jobs_running(static_cast<int>(running_.size()));
    for (const auto& [id, run] : running_) w.add_job_ids(id);
  }
  if (Status s = store_.heartbeat(w, lease_); !s.ok())
    std::fprintf(stderr, "racerigd: worker %s: heartbeat: %s\n", owner_prefix_.c_str(), s.error().message.c_str());
}

void WorkerPool::work(int index) {
  const std::string owner = owner_prefix_ + "/" + std::to_string(index);
  bool failing = false;  // said once per outage, not once per try
  while (!stopping_) {
    const uint64_t seen = store_.generation();  // before looking: no submit is missed
    auto next = store_.claim_next(owner, lease_, max_running_per_submitter_,
                                  Affinity{owner_prefix_, held(), affinity_wait_});
    if (!next.ok()) {
      if (!failing) std::fprintf(stderr, "racerigd: worker %s: %s\n", owner.c_str(), next.error().message.c_str());
      failing = true;
    } else {
      if (failing) std::fprintf(stderr, "racerigd: worker %s: claiming jobs again\n", owner.c_str());
      failing = false;
    }
    if (next.ok() && *next) {
      run_job(std::move(**next), owner);
      beat();  // a free slot again (and maybe one more kernel held)
      continue;
    }
    // Idle: wait for a change in the store (a submit here or, through
    // LISTEN/NOTIFY, anywhere), or look again now and then.
    if (!stopping_) store_.wait_for_change(seen, std::chrono::seconds(5));
  }
}

void WorkerPool::run_job(pb::Job job, const std::string& owner) {
  if (claim_hook_) claim_hook_(job);
  const Lease lease{owner, job.attempt()};
  auto token = process::CancelToken::make();
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_[job.id()] = Running{token, lease, std::chrono::steady_clock::now()};
    if (stopping_) token->cancel();
    if (job_deadline_.count() > 0) {
      deadlines_[job.id()] = std::chrono::steady_clock::now() + job_deadline_;
      deadline_cv_.notify_all();
    }
  }
  beat();  // one slot fewer
  // A cancel that came between the claim and the line above found no token;
  // it marked the job in the store first, so it is seen here.
  std::optional<std::string> by;
  if (auto asked = store_.cancel_requested(job.id()); !asked.ok())
    std::fprintf(stderr, "racerigd: job %s: %s\n", job.id().c_str(), asked.error().message.c_str());
  else if (*asked)
    by = **asked;
  if (by) token->cancel();
  pb::JobState state = pb::CANCELLED;  // what a run that never started ended as
  bool timed_out = false, lost = false;
  if (!token->cancelled()) {
    EventRecorder recorder(store_, job.id(), lease);
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
    lost = lost_.erase(job.id()) > 0;
  }
  if (lost) return;  // another attempt owns the job: the store would refuse this one's end anyway
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
    if (Status s = store_.requeue(job.id(), lease, "the daemon stopped"); !s.ok())
      std::fprintf(stderr, "racerigd: job %s: %s\n", job.id().c_str(), s.error().message.c_str());
    return;
  } else if (state == pb::CANCELLED) {
    job.set_exit_code(3);
    if (job.error().empty()) job.set_error("cancelled");
  }
  // A run that ended by itself while the daemon stopped is stored as it ended.
  job.set_state(state);
  auto stored = store_.finish(job, lease);
  if (!stored.ok()) std::fprintf(stderr, "racerigd: job %s: %s\n", job.id().c_str(), stored.error().message.c_str());
}

}  // namespace racerig::service
