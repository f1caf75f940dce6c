// The job store: jobs, their events and their reports in one SQLite
// database (WAL), so a daemon killed at any moment loses nothing that it
// acknowledged. Every method is one transaction and thread-safe; events get
// per-job sequence numbers 1, 2, 3, ... and wake waiters. The database and
// its WAL files are the daemon's alone (0600); its schema carries a version
// (PRAGMA user_version) and older ones are migrated on open.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "proto/racerig_service.pb.h"
#include "rig/base/result.h"

struct sqlite3;

namespace racerig::service {

class Store {
 public:
  // The schema version this build writes (PRAGMA user_version).
  static constexpr int kSchemaVersion = 2;
  // Opens (creating, mode 0600) the database at `path`, WAL mode, and
  // migrates an older schema to kSchemaVersion. kIo naming the file when it
  // cannot be opened, or when its schema is newer than this build knows.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // What insert() did.
  struct Inserted {
    pb::Job job;
    bool existed = false;  // (submitter, request_id) was already there: `job` is that one
  };
  // Inserts a QUEUED job (id, submitted time and a Queued event assigned
  // here) unless the submitter already used the job's non-empty request_id.
  // kBusy-like refusal: nullopt when `max_queued` jobs are already queued,
  // or (`max_queued_per_submitter` > 0) that many of the job's submitter's.
  Result<std::optional<Inserted>> insert(pb::Job job, int max_queued, int max_queued_per_submitter = 0);

  // The oldest QUEUED job, now RUNNING with attempt+1 and a Started event.
  // A job cancelled while queued is CANCELLED, so it is never claimed.
  // With `max_running_per_submitter` > 0, jobs of a submitter that has that
  // many RUNNING are passed over (they wait for one of theirs to end).
  Result<std::optional<pb::Job>> claim_next(int max_running_per_submitter = 0);
  // What cancel() did.
  enum class Cancelled {
    kNow,        // it was QUEUED: now CANCELLED, with its Finished event
    kRequested,  // it was RUNNING: marked; its worker stores CANCELLED once the run stopped
    kAlready,    // it had ended (or a cancel was already requested): unchanged
  };
  // Cancels a job on behalf of `by`, in one transaction with respect to
  // claim_next(): a queued job ends here; a running one keeps `by` as its
  // cancelled_by, which its worker reads (cancel_requested()) after claiming
  // it. kInput for an unknown id.
  Result<Cancelled> cancel(const std::string& job_id, const std::string& by);
  // Who asked to cancel the RUNNING job `job_id`; nullopt when nobody did.
  Result<std::optional<std::string>> cancel_requested(const std::string& job_id);
  // Appends an event to a job (seq, time and the job's current attempt
  // assigned); returns its seq. The event is a row of its own: the job's
  // record is not rewritten. kInput for an unknown job or one that has
  // ended: nothing is stored after a job's Finished event.
  Result<int64_t> append_event(const std::string& job_id, pb::JobEvent event);
  // Stores a job's end (its state, report, exit code, error) and a Finished
  // event carrying the record, in one transaction.
  Result<pb::Job> finish(pb::Job job);
  // A RUNNING job back to QUEUED (daemon shutdown), with a Requeued event;
  // CANCELLED instead when a cancel was requested. Other jobs: unchanged.
  Status requeue(const std::string& job_id, const std::string& reason);
  // At start-up: every RUNNING job (the daemon died under it) is queued
  // again, or INTERRUPTED once it has had `max_attempts` starts, or
  // CANCELLED when a cancel was requested. Returns how many were requeued.
  Result<int> recover(int max_attempts);

  Result<std::optional<pb::Job>> get(const std::string& job_id);
  // What a watcher needs to know of a job, from columns (no record parsed).
  struct Head {
    pb::JobState state = pb::JOB_STATE_UNSPECIFIED;
    int attempt = 0;             // 0 before its first start
    int64_t last_event_seq = 0;  // its events' highest seq
  };
  // The job's Head; nullopt for an unknown id.
  Result<std::optional<Head>> head(const std::string& job_id);
  // Events with seq > after_seq, at most `limit`, each with its attempt.
  Result<std::vector<pb::JobEvent>> events_after(const std::string& job_id, int64_t after_seq, int limit);
  // Jobs newest first with id < before_id (0: from the newest), of `states`
  // (empty: all), submitted by `submitter` (nullopt: by anyone), at most
  // `limit`; reports and patch contents left out (read from the stored
  // summaries: no report is parsed).
  Result<std::vector<pb::Job>> list(const std::vector<pb::JobState>& states,
                                    const std::optional<std::string>& submitter, int64_t before_id, int limit);
  Result<int> count(pb::JobState state);
  // Deletes an ended job with its events, in one transaction. False (and
  // nothing deleted) when the job does not exist or has not ended.
  Result<bool> remove(const std::string& job_id);
  // The ended jobs that finished before `unix_ms` (retention), oldest first,
  // as stored (reports included).
  Result<std::vector<pb::Job>> ended_before(int64_t unix_ms);
  // The jobs of `submitter` in `state`.
  Result<int> count(pb::JobState state, const std::string& submitter);

  // A counter that every stored change increments: read it before looking,
  // then wait_for_change(it, ...) misses no change made in between.
  uint64_t generation();
  // Blocks until the generation differs from `seen` or `timeout` passes.
  void wait_for_change(uint64_t seen, std::chrono::milliseconds timeout);

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Status exec(const char* sql);
  Result<std::optional<pb::Job>> get_locked(int64_t id);
  Status put_locked(const pb::Job& job);
  // Stores `event` as attempt `attempt` (at least 1) of job `id`.
  Result<int64_t> append_locked(int64_t id, int attempt, pb::JobEvent event);
  // Stores `job`'s end and its Finished event (see finish()).
  Result<pb::Job> finish_locked(int64_t id, pb::Job job);
  Status migrate();
  void changed();

  sqlite3* db_;
  std::mutex mu_;
  std::mutex change_mu_;
  std::condition_variable change_cv_;
  uint64_t generation_ = 0;
};

// Milliseconds since the epoch, now.
int64_t now_unix_ms();
// The job's summary for listings: no report, no patch contents.
pb::Job summary_of(const pb::Job& job);
// True for SUCCEEDED, FAILED, CANCELLED, INTERRUPTED.
bool is_final(pb::JobState state);

}  // namespace racerig::service
