// The job store's contract: jobs, their events and their reports, what
// every implementation keeps (SqliteStore, the embedded default; and
// PostgresStore, a queue shared by many hosts). The SQL lives in the
// implementations; the job service and the worker pool see this interface
// only, and one test suite (store_contract.h) holds both to it.
//
// Every method is one transaction and thread-safe. A job moves QUEUED →
// RUNNING (claimed by a worker: attempt+1, a lease with an owner and an
// expiry) → SUCCEEDED, FAILED, CANCELLED or INTERRUPTED. The claiming worker
// renews the lease while the job runs; a lease that expires puts the job
// back in the queue (requeue_expired), and every later write of the stale
// (owner, attempt) — an event, a finish, a requeue, a renewal — is refused:
// the attempt is fenced. Events get per-job sequence numbers 1, 2, 3, ...
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "proto/racerig_service.pb.h"
#include "rig/base/result.h"

namespace racerig::service {

// Who holds a RUNNING job: the worker that claimed it and the attempt it
// claimed. Every write of a running job's worker names its lease.
struct Lease {
  std::string owner;
  int attempt = 0;
};

// Which queued jobs a claiming worker prefers (kernel affinity): a job
// whose kernel_keys another live worker's cache holds, with a free slot,
// waits for that worker up to `wait` after it was queued; any other job is
// anyone's. The default (no name) takes every job in queue order.
struct Affinity {
  std::string worker;                 // the claimer's heartbeat name (WorkerPool::owner_prefix())
  std::vector<std::string> held;      // the kernel cache keys the claimer holds
  std::chrono::milliseconds wait{0};  // how long a job waits for a holder
};

class Store {
 public:
  virtual ~Store() = default;

  // What insert() did.
  struct Inserted {
    pb::Job job;
    bool existed = false;  // (submitter, request_id) was already there: `job` is that one
  };
  // Inserts a QUEUED job (id, submitted time and a Queued event assigned
  // here) unless the submitter already used the job's non-empty request_id.
  // kBusy-like refusal: nullopt when `max_queued` jobs are already queued,
  // or (`max_queued_per_submitter` > 0) that many of the job's submitter's.
  // The bounds hold against concurrent inserts from any number of processes.
  virtual Result<std::optional<Inserted>> insert(pb::Job job, int max_queued, int max_queued_per_submitter = 0) = 0;

  // The oldest QUEUED job, now RUNNING with attempt+1, a Started event and a
  // lease for `owner` that expires after `lease` unless renewed. A job
  // cancelled while queued is CANCELLED, so it is never claimed. With
  // `max_running_per_submitter` > 0, jobs of a submitter that has that many
  // RUNNING are passed over. Two claims never get the same job.
  // `affinity`: the jobs passed over because a live worker holding their
  // kernels (Affinity) has a free slot and they were queued less than
  // affinity.wait ago.
  virtual Result<std::optional<pb::Job>> claim_next(const std::string& owner, std::chrono::milliseconds lease,
                                                    int max_running_per_submitter = 0,
                                                    const Affinity& affinity = {}) = 0;
  // What renew() found.
  struct Renewal {
    bool held = false;                        // false: the lease is lost (fenced); stop the run
    std::optional<std::string> cancelled_by;  // a cancel was requested (by this name)
  };
  // Extends `lease` of job `job_id` to `duration` from now, if it is still
  // the job's (RUNNING, same owner and attempt). kInput for an unknown id.
  virtual Result<Renewal> renew(const std::string& job_id, const Lease& lease, std::chrono::milliseconds duration) = 0;

  // What cancel() did.
  enum class Cancelled {
    kNow,        // it was QUEUED: now CANCELLED, with its Finished event
    kRequested,  // it was RUNNING: marked; its worker stores CANCELLED once the run stopped
    kAlready,    // it had ended (or a cancel was already requested): unchanged
  };
  // Cancels a job on behalf of `by`, in one transaction with respect to
  // claim_next(): a queued job ends here; a running one keeps `by` as its
  // cancelled_by, which its worker reads (cancel_requested(), renew()).
  // kInput for an unknown id.
  virtual Result<Cancelled> cancel(const std::string& job_id, const std::string& by) = 0;
  // Who asked to cancel the RUNNING job `job_id`; nullopt when nobody did.
  virtual Result<std::optional<std::string>> cancel_requested(const std::string& job_id) = 0;
  // Appends an event of attempt `lease` to a running job (seq and time
  // assigned); returns its seq. The event is a row of its own: the job's
  // record is not rewritten. kInput for an unknown job, one that has ended
  // (nothing is stored after a job's Finished event) and a stale lease.
  virtual Result<int64_t> append_event(const std::string& job_id, const Lease& lease, pb::JobEvent event) = 0;
  // Stores a running job's end (its state, report, exit code, error) and a
  // Finished event carrying the record, in one transaction. kInput (nothing
  // stored) when `lease` is no longer the job's: another attempt owns it.
  virtual Result<pb::Job> finish(pb::Job job, const Lease& lease) = 0;
  // A RUNNING job of `lease` back to QUEUED (its worker stopped), with a
  // Requeued event; CANCELLED instead when a cancel was requested. A stale
  // lease changes nothing (Ok: the job is someone else's now).
  virtual Status requeue(const std::string& job_id, const Lease& lease, const std::string& reason) = 0;
  // Every RUNNING job whose lease has expired (its worker died or lost the
  // database) is queued again with a Requeued event, or INTERRUPTED once it
  // has had `max_attempts` starts, or CANCELLED when a cancel was requested.
  // Safe to run from every worker at once. Returns how many were requeued.
  virtual Result<int> requeue_expired(int max_attempts) = 0;
  // As requeue_expired() for every RUNNING job, expired or not: only for a
  // process that knows it is the store's one user (racerigd on SQLite at
  // start-up, holding its state lock).
  virtual Result<int> recover(int max_attempts) = 0;

  virtual Result<std::optional<pb::Job>> get(const std::string& job_id) = 0;
  // What a watcher needs to know of a job, from columns (no record parsed).
  struct Head {
    pb::JobState state = pb::JOB_STATE_UNSPECIFIED;
    int attempt = 0;             // 0 before its first start
    int64_t last_event_seq = 0;  // its events' highest seq
  };
  // The job's Head; nullopt for an unknown id.
  virtual Result<std::optional<Head>> head(const std::string& job_id) = 0;
  // Events with seq > after_seq, at most `limit`, each with its attempt.
  virtual Result<std::vector<pb::JobEvent>> events_after(const std::string& job_id, int64_t after_seq, int limit) = 0;
  // Jobs newest first with id < before_id (0: from the newest), of `states`
  // (empty: all), submitted by `submitter` (nullopt: by anyone), at most
  // `limit`; reports and patch contents left out (no report is parsed).
  virtual Result<std::vector<pb::Job>> list(const std::vector<pb::JobState>& states,
                                            const std::optional<std::string>& submitter, int64_t before_id,
                                            int limit) = 0;
  virtual Result<int> count(pb::JobState state) = 0;
  // The jobs of `submitter` in `state`.
  virtual Result<int> count(pb::JobState state, const std::string& submitter) = 0;
  // Deletes an ended job with its events, in one transaction. False (and
  // nothing deleted) when the job does not exist or has not ended.
  virtual Result<bool> remove(const std::string& job_id) = 0;
  // The ended jobs that finished before `unix_ms` (retention), oldest first,
  // as stored (reports included).
  virtual Result<std::vector<pb::Job>> ended_before(int64_t unix_ms) = 0;

  // Stores worker `worker.name()`'s heartbeat (its fields as given; the
  // time is the store's clock), replacing its last one; `lease` is how
  // long the worker counts as alive without another. Heartbeats silent for
  // a day are deleted.
  virtual Status heartbeat(const pb::Worker& worker, std::chrono::milliseconds lease) = 0;
  // Deletes worker `name`'s heartbeat (it stopped cleanly); Ok when none.
  virtual Status remove_worker(const std::string& name) = 0;
  // Every stored heartbeat by name, with last_heartbeat_unix_ms,
  // heartbeat_age_ms and lost (older than its lease) from the store's clock.
  virtual Result<std::vector<pb::Worker>> workers() = 0;

  // A counter that every stored change increments (PostgreSQL: every change
  // by any process, through LISTEN/NOTIFY): read it before looking, then
  // wait_for_change(it, ...) misses no change made in between.
  virtual uint64_t generation() = 0;
  // Blocks until the generation differs from `seen` or `timeout` passes.
  virtual void wait_for_change(uint64_t seen, std::chrono::milliseconds timeout) = 0;
  // Wakes this process's waiters without a stored change (a pool stopping).
  virtual void poke() = 0;
};

// The generation counter and its waiters, for implementations.
class ChangeSignal {
 public:
  // Increments the generation and wakes every waiter.
  void bump();
  uint64_t generation();
  // Blocks until the generation differs from `seen` or `timeout` passes.
  void wait(uint64_t seen, std::chrono::milliseconds timeout);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
};

// Milliseconds since the epoch, now.
int64_t now_unix_ms();
// The job's summary for listings: no report, no patch contents.
pb::Job summary_of(const pb::Job& job);
// True for SUCCEEDED, FAILED, CANCELLED, INTERRUPTED.
bool is_final(pb::JobState state);
// "123" as a job id; kInput naming the text otherwise.
Result<int64_t> parse_job_id(const std::string& id);
// What becomes of a RUNNING job whose worker is gone (`why`: which), as
// requeue_expired() and recover() decide: CANCELLED when a cancel was
// requested, INTERRUPTED after `max_attempts` starts (both with exit code
// and error set: finish it), else QUEUED (requeue it, saying `why`).
pb::Job orphan_outcome(pb::Job job, int max_attempts, const std::string& why);
// The error of a write by a stale lease: names the job, the stale (owner,
// attempt) and who holds it now (`now`: "attempt 2 of w2", "SUCCEEDED").
Error fenced(const std::string& job_id, const Lease& stale, const std::string& now);

}  // namespace racerig::service
