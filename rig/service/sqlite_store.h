// The embedded job store: jobs, their events and their reports in one
// SQLite database (WAL), so a daemon killed at any moment loses nothing that
// it acknowledged (store.h has the contract). The database and its WAL
// files are the daemon's alone (0600); its schema carries a version (PRAGMA
// user_version) and older ones are migrated on open. Leases live in a table
// of their own, so a renewal never rewrites a job's record; their clock is
// this machine's.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "rig/service/store.h"

struct sqlite3;

namespace racerig::service {

class SqliteStore final : public Store {
 public:
  // The schema version this build writes (PRAGMA user_version).
  static constexpr int kSchemaVersion = 4;
  // Opens (creating, mode 0600) the database at `path`, WAL mode, and
  // migrates an older schema to kSchemaVersion. kIo naming the file when it
  // cannot be opened, or when its schema is newer than this build knows.
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<std::optional<Inserted>> insert(pb::Job job, int max_queued, int max_queued_per_submitter = 0) override;
  Result<std::optional<pb::Job>> claim_next(const std::string& owner, std::chrono::milliseconds lease,
                                            int max_running_per_submitter = 0, const Affinity& affinity = {}) override;
  Result<Renewal> renew(const std::string& job_id, const Lease& lease, std::chrono::milliseconds duration) override;
  Result<Cancelled> cancel(const std::string& job_id, const std::string& by) override;
  Result<std::optional<std::string>> cancel_requested(const std::string& job_id) override;
  Result<int64_t> append_event(const std::string& job_id, const Lease& lease, pb::JobEvent event) override;
  Result<pb::Job> finish(pb::Job job, const Lease& lease) override;
  Status requeue(const std::string& job_id, const Lease& lease, const std::string& reason) override;
  Result<int> requeue_expired(int max_attempts) override;
  Result<int> recover(int max_attempts) override;
  Result<std::optional<pb::Job>> get(const std::string& job_id) override;
  Result<std::optional<Head>> head(const std::string& job_id) override;
  Result<std::vector<pb::JobEvent>> events_after(const std::string& job_id, int64_t after_seq, int limit) override;
  Result<std::vector<pb::Job>> list(const std::vector<pb::JobState>& states,
                                    const std::optional<std::string>& submitter, int64_t before_id,
                                    int limit) override;
  Result<int> count(pb::JobState state) override;
  Result<int> count(pb::JobState state, const std::string& submitter) override;
  Result<bool> remove(const std::string& job_id) override;
  Result<std::vector<pb::Job>> ended_before(int64_t unix_ms) override;
  Status heartbeat(const pb::Worker& worker, std::chrono::milliseconds lease) override;
  Status remove_worker(const std::string& name) override;
  Result<std::vector<pb::Worker>> workers() override;
  uint64_t generation() override { return changes_.generation(); }
  void wait_for_change(uint64_t seen, std::chrono::milliseconds timeout) override { changes_.wait(seen, timeout); }
  void poke() override { changes_.bump(); }

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  Status exec(const char* sql);
  Result<std::optional<pb::Job>> get_locked(int64_t id);
  Status put_locked(const pb::Job& job);
  // Stores `event` as attempt `attempt` (at least 1) of job `id`.
  Result<int64_t> append_locked(int64_t id, int attempt, pb::JobEvent event);
  // Stores `job`'s end and its Finished event (see finish()); drops its lease.
  Result<pb::Job> finish_locked(int64_t id, pb::Job job);
  // Ok when `lease` is job `id`'s; else the fenced error, naming the holder.
  Status check_lease_locked(int64_t id, const Lease& lease);
  // Job `id` back to QUEUED with a Requeued event saying `reason`; drops its lease.
  Status requeue_locked(int64_t id, pb::Job job, const std::string& reason);
  // Requeues (or ends: orphan_outcome) the RUNNING jobs whose lease expired
  // before `before_ms` (INT64_MAX: all of them), saying `why`.
  Result<int> reap(int64_t before_ms, int max_attempts, const std::string& why);
  Status migrate();
  // Schema version 1 to 2 (inside migrate()'s transaction).
  Status migrate_to_2();

  sqlite3* db_;
  std::mutex mu_;
  ChangeSignal changes_;
};

}  // namespace racerig::service
