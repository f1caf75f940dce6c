// The bounded worker pool: N threads take the oldest queued job from the
// store (a lease of their own), run it with its own cancellation token, and
// store its end. Jobs wait in the store, not in memory, so a restart finds
// them. A lease keeper thread renews the running jobs' leases, stops a run
// whose lease was lost (another worker may run it now) or whose job was
// cancelled through another process, and requeues the jobs of workers
// that died (expired leases), and stores the pool's heartbeat (its load,
// backend and the kernels its cache holds: Store::heartbeat). Idle workers
// wait on the store's changes. A claim prefers the jobs whose kernels this
// pool's cache holds (Store's Affinity).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rig/process/cancel.h"
#include "rig/service/runner.h"
#include "rig/service/store.h"

namespace racerig::service {

class WorkerPool {
 public:
  // `workers` threads (0: none; the pool only cancels nothing and keeps no
  // leases, a frontend that runs no jobs).
  WorkerPool(Store& store, JobRunner& runner, int workers);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void start();
  // Wakes an idle worker (a job was queued).
  void wake();
  // Cancels a running job on behalf of `by` (a token name): its token stops
  // the build or QEMU; the worker stores it as CANCELLED, cancelled by `by`.
  // False when no worker runs that job.
  bool cancel(const std::string& job_id, const std::string& by);
  // Stops taking jobs, cancels the running ones and puts those that the
  // cancel stopped back in the queue (they run again after a restart), then
  // joins the threads. A job whose run ended anyway is stored as it ended; a
  // job a client cancelled is stored CANCELLED.
  void stop();
  // Tests only: called on the worker's thread after it claimed `job` and
  // before it registers the job's cancellation token (the window a cancel
  // can race). Set before start().
  void set_claim_hook(std::function<void(const pb::Job&)> hook) { claim_hook_ = std::move(hook); }

  // Every job is cancelled once it has run this long (per attempt), stored
  // CANCELLED with an error saying so; zero: no deadline. Set before start().
  void set_job_deadline(std::chrono::milliseconds deadline) { job_deadline_ = deadline; }

  // At most `n` jobs of one submitter run at once (0: no bound); the
  // others wait, queued, while other submitters' jobs run. Set before start().
  void set_max_running_per_submitter(int n) { max_running_per_submitter_ = n; }

  // How long a claim holds a job without a renewal (renewed every third
  // of it), and how many starts a job gets before a lost lease makes it
  // INTERRUPTED. Set before start().
  void set_lease(std::chrono::milliseconds lease) { lease_ = lease; }
  void set_max_attempts(int n) { max_attempts_ = n; }
  // Worker i's lease owner is owner_prefix() + "/i"; the prefix is "HOST:PID".
  const std::string& owner_prefix() const { return owner_prefix_; }

  // What the heartbeat says of this pool: how its VMs start, and the kernel
  // cache keys its cache holds (`inventory`, called before every claim and
  // heartbeat; none: the pool holds nothing). Set before start().
  void set_worker_info(std::string backend, std::function<std::vector<std::string>()> inventory) {
    backend_ = std::move(backend);
    inventory_ = std::move(inventory);
  }
  // How long a queued job waits for another live worker that holds its
  // kernels before this pool takes it (Affinity::wait). Set before start().
  void set_affinity_wait(std::chrono::milliseconds wait) { affinity_wait_ = wait; }

  // One worker's fitting count: every VM needs `vcpus_per_vm` host cores.
  static int default_workers(int vcpus_per_vm);

 private:
  void work(int index);
  // Renews the running jobs' leases and requeues expired ones (the lease
  // keeper thread).
  void keep_leases();
  // Cancels the jobs past their deadline (the watchdog thread).
  void watch_deadlines();
  void run_job(pb::Job job, const std::string& owner);
  // Stores this pool's heartbeat (Store::heartbeat); a failure is logged.
  void beat();
  // The kernel cache keys held now (inventory_), sorted.
  std::vector<std::string> held() const;

  Store& store_;
  JobRunner& runner_;
  const int count_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  // A running job's token, lease and when its lease was last renewed.
  struct Running {
    std::shared_ptr<process::CancelToken> token;
    Lease lease;
    std::chrono::steady_clock::time_point renewed;
  };
  std::map<std::string, Running> running_;
  std::set<std::string> lost_;  // running jobs whose lease was lost: their end is not stored
  std::map<std::string, std::string> cancelled_by_;  // job id → who cancelled it
  std::function<void(const pb::Job&)> claim_hook_;
  std::chrono::milliseconds job_deadline_{0};
  int max_running_per_submitter_ = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> deadlines_;  // running job → when it is cut
  std::set<std::string> timed_out_;                                         // running jobs cut by their deadline
  std::condition_variable deadline_cv_;
  std::thread watchdog_;
  std::chrono::milliseconds lease_{30000};
  int max_attempts_ = 3;
  std::string owner_prefix_;
  std::string backend_;
  std::function<std::vector<std::string>()> inventory_;
  std::chrono::milliseconds affinity_wait_{0};
  int64_t started_unix_ms_ = 0;
  std::condition_variable lease_cv_;
  std::thread lease_keeper_;
};

}  // namespace racerig::service
