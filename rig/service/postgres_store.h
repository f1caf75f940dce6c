// The shared job store: jobs, events and reports in PostgreSQL, so that
// racerigd frontends and workers on many hosts use one queue (store.h has
// the contract). A claim takes the oldest queued job with FOR UPDATE SKIP
// LOCKED and sets its lease in the same statement; a lease's clock is the
// server's (now()), so hosts' clocks need not agree. Every write notifies
// the channel `racerig_jobs`; a listener connection (LISTEN) turns those
// notifications into this process's generation, which wakes watchers and
// idle workers. The schema is versioned (table racerig_schema) and migrated
// on open under an advisory lock.
//
// A server that goes away is an error naming the server (host, port,
// database; never the password), never a crash or a hang: connecting has a
// deadline (connect_timeout), statements have one (statement_timeout), TCP
// has keepalives and tcp_user_timeout; the next call connects again.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "rig/service/store.h"

namespace racerig::service {

// A DSN as connecting and messages use it.
struct PostgresTarget {
  std::string conninfo;  // keyword=value, with racerig's deadlines added where the DSN set none
  std::string label;     // "postgresql://HOST:PORT/DBNAME": no user, no password
};
// Parses a libpq DSN (a postgresql:// URI or keyword=value pairs). kInput
// naming the problem (libpq's words) for one that does not parse.
Result<PostgresTarget> parse_postgres_dsn(const std::string& dsn);

class PostgresStore final : public Store {
 public:
  // The schema version this build writes (table racerig_schema).
  static constexpr int kSchemaVersion = 3;
  // Connects to `dsn`, migrates an older schema (creating it in an empty
  // database) and starts listening. kInput for a DSN that does not parse;
  // kIo naming the server when it cannot be reached, or when its schema is
  // newer than this build knows.
  // `statement_deadline`: the server cancels a statement that runs longer
  // (statement_timeout); a transaction that has not returned a second after
  // that (a server that stopped answering) has its socket shut down from
  // the listener's thread, so the call fails instead of hanging.
  static Result<std::unique_ptr<PostgresStore>> open(
      const std::string& dsn, std::chrono::milliseconds statement_deadline = std::chrono::seconds(30));
  ~PostgresStore() override;  // stops the listener
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // The server, for messages: "postgresql://HOST:PORT/DBNAME".
  const std::string& label() const { return target_.label; }

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
  PostgresStore(PostgresTarget target, std::chrono::milliseconds statement_deadline);
  // Shuts the socket of a transaction past its deadline down (the listener
  // calls it at least twice a second).
  void enforce_deadline();
  // Runs `body` in one transaction on the (re)connected connection,
  // committing after it; a database error becomes kIo (kTimeout for a
  // serialization failure or a statement past its deadline) naming the
  // server and `what`. A broken connection is dropped: the next call
  // connects again.
  template <typename T, typename Body>
  Result<T> transact(const std::string& what, Body&& body);
  Status connect_locked();
  Status migrate();
  // The LISTEN loop (its own connection), until stopping_.
  void listen();

  PostgresTarget target_;
  std::mutex mu_;  // the connection and its transactions
  struct Connection;  // a pqxx::connection (a typedef there: not declarable here)
  std::unique_ptr<Connection> conn_;
  const std::chrono::milliseconds statement_deadline_;
  // The socket of the transaction under way and when it began (-1: none),
  // under busy_mu_: set and cleared around each transaction, read by
  // enforce_deadline().
  std::mutex busy_mu_;
  int busy_fd_ = -1;
  std::chrono::steady_clock::time_point busy_since_;
  ChangeSignal changes_;
  std::atomic<bool> stopping_{false};
  std::thread listener_;
  // Set once the listener has connected (or failed to): open() waits for it.
  void tried_listening();
  std::mutex listen_mu_;
  std::condition_variable listen_cv_;
  bool listen_tried_ = false;
};

}  // namespace racerig::service
