// The SQLite job store (see sqlite_store.h).
//
// Schema: jobs(id, state, submitter, request_id, record) where record is
// the serialized pb::Job (request, report and all); summaries(job_id,
// attempt, summary) with the record without report and patch contents
// (summary_of), what ListJobs reads, and the job's attempt, what an event
// is marked with; events(job_id, seq, attempt, record) with the serialized
// pb::JobEvent. The columns beside the records are for queries only and are
// written from the record. Summaries are a table of their own because
// SQLite keeps a row as one payload: a column after a record of megabytes
// is reached by walking the record's overflow pages. An event is a row of
// its own: appending one never rewrites its job's row; a job's
// last_event_seq is its events' MAX(seq), filled in when the record is read.
//
// Schema versions (PRAGMA user_version): 0 is a database of a racerigd that
// did not version its schema (or a new, empty file); 1 has the same tables,
// indexes and records, stamped; 2 adds the summaries table and
// events.attempt (events of a version 1 database are attempt 1); 3 adds
// leases(job_id, owner, attempt, expires_ms), one row per RUNNING job (the
// RUNNING jobs of a version 2 database get an expired lease: the next
// recover() or requeue_expired() queues them again); 4 adds jobs.kernels (the
// kernel cache keys a job needs, a JSON array from its record), jobs.queued_ms
// (when it was last queued) and workers(name, last_beat_ms, lease_ms,
// running, slots, kernels, record): one heartbeat per worker, record the
// serialized pb::Worker (claim_next()'s affinity reads them). A cancel
// requested of a RUNNING job is its record's cancelled_by, set before the
// job ends.
#include "rig/service/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace racerig::service {

namespace {

// Version 1's tables; version 2 adds columns to them (SqliteStore::migrate).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  state INTEGER NOT NULL,
  submitter TEXT NOT NULL,
  request_id TEXT NOT NULL,
  record BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_request ON jobs(submitter, request_id) WHERE request_id != '';
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, id);
CREATE INDEX IF NOT EXISTS jobs_submitter ON jobs(submitter, id);
CREATE TABLE IF NOT EXISTS events (
  job_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  record BLOB NOT NULL,
  PRIMARY KEY (job_id, seq)
);
)sql";

// The last SQLite error on `db` while doing `what`. A busy or locked database
// (still so after the busy timeout) is kTimeout: the caller may try again
// (the service answers UNAVAILABLE); anything else is kIo.
Error store_error(sqlite3* db, const std::string& what) {
  const int code = sqlite3_errcode(db);
  const bool busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;
  return make_error(busy ? ErrorKind::kTimeout : ErrorKind::kIo, "job store: " + what + ": " + sqlite3_errmsg(db));
}

// One prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_blob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  int64_t integer(int col) { return sqlite3_column_int64(s_, col); }
  std::string blob(int col) {
    const void* p = sqlite3_column_blob(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  Error error(const std::string& what) const { return store_error(db_, what); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { ok_ = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK; }
  ~Transaction() {
    if (ok_ && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status begun() const {
    if (!ok_) return store_error(db_, "BEGIN");
    return Status::Ok();
  }
  Status commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
      return store_error(db_, "COMMIT");
    done_ = true;
    return Status::Ok();
  }

 private:
  sqlite3* db_;
  bool ok_ = false, done_ = false;
};

// A JSON array of strings (what the kernels columns hold; json_each reads them).
template <typename Items>
std::string json_array(const Items& items) {
  std::string out = "[";
  bool first = true;
  for (const std::string& item : items) {
    out += first ? "\"" : ",\"";
    first = false;
    for (char c : item) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
        out += esc;
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out + "]";
}

}  // namespace

namespace {

// Creates `path` if missing and makes it (and its WAL files, which SQLite
// creates with the database's mode) readable by the owner alone.
Status make_private(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(ErrorKind::kIo, "opening the job store " + path.string() + ": " + std::strerror(errno));
  const int rc = ::fchmod(fd, 0600);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return make_error(ErrorKind::kIo, "chmod 600 " + path.string() + ": " + std::strerror(err));
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::string side = path.string() + suffix;
    if (::chmod(side.c_str(), 0600) != 0 && errno != ENOENT)
      return make_error(ErrorKind::kIo, "chmod 600 " + side + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Status SqliteStore::migrate() {
  Transaction tx(db_);
  RACERIG_TRY(tx.begun());
  Stmt v(db_, "PRAGMA user_version");
  if (!v.ok() || v.step() != SQLITE_ROW) return v.error("reading the schema version");
  const int64_t version = v.integer(0);
  if (version > kSchemaVersion)
    return make_error(ErrorKind::kIo, "job store: schema version " + std::to_string(version) +
                                          " was written by a newer racerigd; this one knows versions up to " +
                                          std::to_string(kSchemaVersion));
  if (version == kSchemaVersion) return Status::Ok();
  if (version < 1) {
    // 0 -> 1: an unversioned database has version 1's tables (or none yet):
    // create what is missing, check the columns the queries use.
    RACERIG_TRY(exec(kSchemaV1));
    for (const char* column : {"id", "state", "submitter", "request_id", "record"}) {
      Stmt c(db_, "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = ?");
      if (!c.ok()) return c.error("reading the jobs table");
      c.bind(1, std::string(column));
      if (c.step() != SQLITE_ROW) return c.error("reading the jobs table");
      if (c.integer(0) != 1)
        return make_error(ErrorKind::kIo, std::string("job store: the unversioned jobs table has no \"") + column +
                                              "\" column; it is not a racerigd database");
    }
  }
  if (version < 2) RACERIG_TRY(migrate_to_2());
  if (version < 3) {
    // 2 -> 3: leases; a RUNNING job of an older racerigd gets an expired one
    // (its daemon is gone: recover() or requeue_expired() queues it again).
    RACERIG_TRY(exec("CREATE TABLE leases (job_id INTEGER PRIMARY KEY, owner TEXT NOT NULL, attempt INTEGER NOT NULL,"
                     " expires_ms INTEGER NOT NULL);"));
    Stmt l(db_, "INSERT INTO leases (job_id, owner, attempt, expires_ms) SELECT jobs.id, '', summaries.attempt, 0 "
                "FROM jobs JOIN summaries ON summaries.job_id = jobs.id WHERE jobs.state = ?");
    if (!l.ok()) return l.error("migrating running jobs' leases");
    l.bind(1, pb::RUNNING);
    if (l.step() != SQLITE_DONE) return l.error("migrating running jobs' leases");
  }
  // 3 -> 4: kernel affinity and worker heartbeats (jobs of older versions
  // need no kernels: any worker takes them).
  RACERIG_TRY(exec("ALTER TABLE jobs ADD COLUMN kernels TEXT NOT NULL DEFAULT '[]';"
                   "ALTER TABLE jobs ADD COLUMN queued_ms INTEGER NOT NULL DEFAULT 0;"
                   "CREATE TABLE workers (name TEXT PRIMARY KEY, last_beat_ms INTEGER NOT NULL, lease_ms INTEGER NOT "
                   "NULL, running INTEGER NOT NULL, slots INTEGER NOT NULL, kernels TEXT NOT NULL, record BLOB NOT NULL);"));
  RACERIG_TRY(exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str()));
  return tx.commit();
}

Status SqliteStore::migrate_to_2() {
  // 1 -> 2: the attempt of every event (those stored so far: attempt 1),
  // the attempt and the listing summary of every job, from its record.
  RACERIG_TRY(exec("CREATE TABLE summaries (job_id INTEGER PRIMARY KEY, attempt INTEGER NOT NULL,"
                   " summary BLOB NOT NULL);"
                   "ALTER TABLE events ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;"));
  {
    Stmt q(db_, "SELECT id, record FROM jobs");
    if (!q.ok()) return q.error("reading jobs to migrate");
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      pb::Job job;
      if (!job.ParseFromString(q.blob(1)))
        return make_error(ErrorKind::kIo, "job store: the record of job " + std::to_string(q.integer(0)) +
                                              " does not parse; cannot migrate it");
      Stmt u(db_, "INSERT INTO summaries (job_id, attempt, summary) VALUES (?, ?, ?)");
      if (!u.ok()) return u.error("migrating a job");
      u.bind(1, q.integer(0)).bind(2, job.attempt()).bind_blob(3, summary_of(job).SerializeAsString());
      if (u.step() != SQLITE_DONE) return u.error("migrating job " + std::to_string(q.integer(0)));
    }
    if (rc != SQLITE_DONE) return q.error("reading jobs to migrate");
  }
  return Status::Ok();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& path) {
  RACERIG_TRY(make_private(path));
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  if (rc != SQLITE_OK)
    return make_error(ErrorKind::kIo, "opening the job store " + path.string() + ": " + sqlite3_errstr(rc));
  sqlite3_busy_timeout(db, 5000);
  RACERIG_TRY(store->exec("PRAGMA journal_mode=WAL"));
  RACERIG_TRY(store->exec("PRAGMA synchronous=FULL"));
  if (Status s = store->migrate(); !s.ok())
    return make_error(ErrorKind::kIo, path.string() + ": " + s.error().message);
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

Status SqliteStore::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg ? msg : "?";
    sqlite3_free(msg);
    return make_error(ErrorKind::kIo, std::string("job store: ") + text);
  }
  return Status::Ok();
}

Result<std::optional<pb::Job>> SqliteStore::get_locked(int64_t id) {
  Stmt q(db_, "SELECT record, (SELECT COALESCE(MAX(seq), 0) FROM events WHERE job_id = ?1) FROM jobs WHERE id = ?1");
  if (!q.ok()) return q.error("select job");
  q.bind(1, id);
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<pb::Job>();
  if (rc != SQLITE_ROW) return q.error("select job");
  pb::Job job;
  if (!job.ParseFromString(q.blob(0)))
    return make_error(ErrorKind::kIo, "job store: the record of job " + std::to_string(id) + " does not parse");
  job.set_last_event_seq(q.integer(1));
  return std::optional<pb::Job>(std::move(job));
}

Status SqliteStore::put_locked(const pb::Job& job) {
  const int64_t id = std::stoll(job.id());
  Stmt u(db_, "UPDATE jobs SET state = ?, record = ? WHERE id = ?");
  if (!u.ok()) return u.error("update job");
  u.bind(1, job.state()).bind_blob(2, job.SerializeAsString()).bind(3, id);
  if (u.step() != SQLITE_DONE) return u.error("update job " + job.id());
  Stmt sum(db_, "INSERT OR REPLACE INTO summaries (job_id, attempt, summary) VALUES (?, ?, ?)");
  if (!sum.ok()) return sum.error("update job summary");
  sum.bind(1, id).bind(2, job.attempt()).bind_blob(3, summary_of(job).SerializeAsString());
  if (sum.step() != SQLITE_DONE) return sum.error("update the summary of job " + job.id());
  return Status::Ok();
}

Result<int64_t> SqliteStore::append_locked(int64_t id, int attempt, pb::JobEvent event) {
  Stmt q(db_, "SELECT COALESCE(MAX(seq), 0) FROM events WHERE job_id = ?");
  if (!q.ok()) return q.error("select seq");
  q.bind(1, id);
  if (q.step() != SQLITE_ROW) return q.error("select seq");
  const int64_t seq = q.integer(0) + 1;
  attempt = std::max(attempt, 1);  // Queued: the first attempt's
  event.set_job_id(std::to_string(id));
  event.set_seq(seq);
  event.set_unix_ms(now_unix_ms());
  event.set_attempt(attempt);
  Stmt ins(db_, "INSERT INTO events (job_id, seq, attempt, record) VALUES (?, ?, ?, ?)");
  if (!ins.ok()) return ins.error("insert event");
  ins.bind(1, id).bind(2, seq).bind(3, attempt).bind_blob(4, event.SerializeAsString());
  if (ins.step() != SQLITE_DONE) return ins.error("insert event");
  return seq;
}

Result<std::optional<SqliteStore::Inserted>> SqliteStore::insert(pb::Job job, int max_queued, int max_queued_per_submitter) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RACERIG_TRY(tx.begun());
  if (!job.request_id().empty()) {
    Stmt q(db_, "SELECT record FROM jobs WHERE submitter = ? AND request_id = ?");
    if (!q.ok()) return q.error("select request");
    q.bind(1, job.submitter()).bind(2, job.request_id());
    int rc = q.step();
    if (rc == SQLITE_ROW) {
      Inserted found;
      if (!found.job.ParseFromString(q.blob(0))) return make_error(ErrorKind::kIo, "job store: a record does not parse");
      found.existed = true;
      return std::optional<Inserted>(std::move(found));
    }
    if (rc != SQLITE_DONE) return q.error("select request");
  }
  Stmt c(db_, "SELECT COUNT(*) FROM jobs WHERE state = ?");
  if (!c.ok()) return c.error("count");
  c.bind(1, pb::QUEUED);
  if (c.step() != SQLITE_ROW) return c.error("count");
  const int64_t ahead = c.integer(0);
  if (ahead >= max_queued) return std::optional<Inserted>();
  if (max_queued_per_submitter > 0) {
    Stmt mine(db_, "SELECT COUNT(*) FROM jobs WHERE state = ? AND submitter = ?");
    if (!mine.ok()) return mine.error("count");
    mine.bind(1, pb::QUEUED).bind(2, job.submitter());
    if (mine.step() != SQLITE_ROW) return mine.error("count");
    if (mine.integer(0) >= max_queued_per_submitter) return std::optional<Inserted>();
  }

  job.set_state(pb::QUEUED);
  job.set_submitted_unix_ms(now_unix_ms());
  Stmt ins(db_, "INSERT INTO jobs (state, submitter, request_id, record, kernels, queued_ms) VALUES (?, ?, ?, x'', ?, ?)");
  if (!ins.ok()) return ins.error("insert job");
  ins.bind(1, job.state()).bind(2, job.submitter()).bind(3, job.request_id()).bind(4, json_array(job.kernel_keys()))
      .bind(5, now_unix_ms());
  if (ins.step() != SQLITE_DONE) return ins.error("insert job");
  const int64_t id = sqlite3_last_insert_rowid(db_);
  job.set_id(std::to_string(id));
  pb::JobEvent ev;
  ev.mutable_queued()->set_ahead(static_cast<int32_t>(ahead));
  RACERIG_ASSIGN(int64_t seq, append_locked(id, 1, ev));
  job.set_last_event_seq(seq);
  RACERIG_TRY(put_locked(job));
  RACERIG_TRY(tx.commit());
  changes_.bump();
  return std::optional<Inserted>(Inserted{std::move(job), false});
}

Result<std::optional<pb::Job>> SqliteStore::claim_next(const std::string& owner, std::chrono::milliseconds lease,
                                                       int max_running_per_submitter, const Affinity& affinity) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RACERIG_TRY(tx.begun());
  // Affinity (?4 names the claimer): a job waits for another live worker
  // whose cache holds all its kernels and that has a free slot, unless the
  // claimer holds them too (?5) or it was queued before ?6.
  const int64_t now = now_unix_ms();
  Stmt q(db_,
         "SELECT id FROM jobs j WHERE state = ?1 AND (?3 <= 0 OR submitter NOT IN (SELECT submitter FROM jobs WHERE "
         "state = ?2 GROUP BY submitter HAVING COUNT(*) >= ?3)) AND (?4 = '' OR j.kernels = '[]' OR NOT EXISTS "
         "(SELECT 1 FROM json_each(j.kernels) k WHERE k.value NOT IN (SELECT value FROM json_each(?5))) OR "
         "j.queued_ms <= ?6 OR NOT EXISTS (SELECT 1 FROM workers h WHERE h.name <> ?4 AND h.last_beat_ms > ?7 - "
         "h.lease_ms AND h.running < h.slots AND NOT EXISTS (SELECT 1 FROM json_each(j.kernels) k WHERE k.value NOT "
         "IN (SELECT value FROM json_each(h.kernels))))) ORDER BY id LIMIT 1");
  if (!q.ok()) return q.error("select queued");
  q.bind(1, pb::QUEUED).bind(2, pb::RUNNING).bind(3, max_running_per_submitter).bind(4, affinity.worker);
  q.bind(5, json_array(affinity.held)).bind(6, now - affinity.wait.count()).bind(7, now);
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<pb::Job>();
  if (rc != SQLITE_ROW) return q.error("select queued");
  const int64_t id = q.integer(0);
  RACERIG_ASSIGN(auto job, get_locked(id));
  if (!job) return make_error(ErrorKind::kIo, "job store: job " + std::to_string(id) + " vanished");
  job->set_state(pb::RUNNING);
  job->set_attempt(job->attempt() + 1);
  job->set_started_unix_ms(now_unix_ms());
  pb::JobEvent ev;
  ev.mutable_started()->set_attempt(job->attempt());
  RACERIG_ASSIGN(int64_t seq, append_locked(id, job->attempt(), ev));
  job->set_last_event_seq(seq);
  RACERIG_TRY(put_locked(*job));
  Stmt l(db_, "INSERT OR REPLACE INTO leases (job_id, owner, attempt, expires_ms) VALUES (?, ?, ?, ?)");
  if (!l.ok()) return l.error("insert lease");
  l.bind(1, id).bind(2, owner).bind(3, job->attempt()).bind(4, now_unix_ms() + lease.count());
  if (l.step() != SQLITE_DONE) return l.error("insert the lease of job " + job->id());
  RACERIG_TRY(tx.commit());
  changes_.bump();
  return job;
}

Status SqliteStore::check_lease_locked(int64_t id, const Lease& lease) {
  Stmt q(db_, "SELECT owner, attempt FROM leases WHERE job_id = ?");
  if (!q.ok()) return q.error("select lease");
  q.bind(1, id);
  const int rc = q.step();
  if (rc == SQLITE_ROW) {
    const std::string owner = q.blob(0);
    const int attempt = static_cast<int>(q.integer(1));
    if (owner == lease.owner && attempt == lease.attempt) return Status::Ok();
    return fenced(std::to_string(id), lease, "attempt " + std::to_string(attempt) + " of \"" + owner + "\"");
  }
  if (rc != SQLITE_DONE) return q.error("select lease");
  // No lease: the job is queued again, has ended, or does not exist.
  Stmt s(db_, "SELECT state FROM jobs WHERE id = ?");
  if (!s.ok()) return s.error("select job");
  s.bind(1, id);
  const int found = s.step();
  if (found == SQLITE_DONE) return make_error(ErrorKind::kInput, "id: no job " + std::to_string(id));
  if (found != SQLITE_ROW) return s.error("select job");
  const auto state = static_cast<pb::JobState>(s.integer(0));
  if (is_final(state))
    return make_error(ErrorKind::kInput, "job " + std::to_string(id) + " has ended (" + pb::JobState_Name(state) +
                                             "): no event is stored after its Finished event");
  return fenced(std::to_string(id), lease, pb::JobState_Name(state));
}

Result<Store::Renewal> SqliteStore::renew(const std::string& job_id, const Lease& lease,
                                          std::chrono::milliseconds duration) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RACERIG_TRY(tx.begun());
  Renewal out;
  Stmt u(db_, "UPDATE leases SET expires_ms = ? WHERE job_id = ? AND owner = ? AND attempt = ?");
  if (!u.ok()) return u.error("renew lease");
  u.bind(1, now_unix_ms() + duration.count()).bind(2, id).bind(3, lease.owner).bind(4, lease.attempt);
  if (u.step() != SQLITE_DONE) return u.error("renew the lease of job " + job_id);
  out.held = sqlite3_changes(db_) == 1;
  if (!out.held) {
    Stmt s(db_, "SELECT 1 FROM jobs WHERE id = ?");
    if (!s.ok()) return s.error("select job");
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return make_error(ErrorKind::kInput, "id: no job " + job_id);
    if (rc != SQLITE_ROW) return s.error("select job");
  } else {
    RACERIG_ASSIGN(auto job, get_locked(id));
    if (job && !job->cancelled_by().empty()) out.cancelled_by = job->cancelled_by();
  }
  RACERIG_TRY(tx.commit());
  return out;
}

Result<int64_t> SqliteStore::append_event(const std::string& job_id, const Lease& lease, pb::JobEvent event) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RACERIG_TRY(tx.begun());
  // The lease's row only: the job's record (patches, report) is neither
  // parsed nor rewritten for an event.
  RACERIG_TRY(check_lease_locked(id, lease));
  RACERIG_ASSIGN(int64_t seq, append_locked(id, lease.attempt, std::move(event)));
  RACERIG_TRY(tx.commit());
  changes_.bump();
  return seq;
}

Result<pb::Job> SqliteStore::finish(pb::Job job, const Lease& lease) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job.id()));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RACERIG_TRY(tx.begun());
  RACERIG_TRY(check_lease_locked(id, lease));
  RACERIG_ASSIGN(auto stored, get_locked(id));
  if (!stored) return make_error(ErrorKind::kInput, "id: no job " + job.id());
  job.set_attempt(lease.attempt);
  if (job.cancelled_by().empty()) job.set_cancelled_by(stored->cancelled_by());
  RACERIG_ASSIGN(pb::Job done, finish_locked(id, std::move(job)));
  RACERIG_TRY(tx.commit());
  changes_.bump();
  return done;
}

Result<pb::Job> SqliteStore::finish_locked(int64_t id, pb::Job job) {
  job.set_finished_unix_ms(now_unix_ms());
  pb::JobEvent ev;
  // The Finished event's seq is known before it is written: the record it
  // carries says so.
  Stmt q(db_, "SELECT COALESCE(MAX(seq), 0) FROM events WHERE job_id = ?");
  if (!q.ok()) return q.error("select seq");
  q.bind(1, id);
  if (q.step() != SQLITE_ROW) return q.error("select seq");
  job.set_last_event_seq(q.integer(0) + 1);
  *ev.mutable_finished()->mutable_job() = job;
  if (ev.finished().job().has_validate())  // patch bodies are not echoed to watchers
    for (auto& p : *ev.mutable_finished()->mutable_job()->mutable_validate()->mutable_patches()) p.clear_content();
  RACERIG_TRY(append_locked(id, job.attempt(), ev));
  RACERIG_TRY(put_locked(job));
  Stmt l(db_, "DELETE FROM leases WHERE job_id = ?");
  if (!l.ok()) return l.error("delete lease");
  l.bind(1, id);
  if (l.step() != SQLITE_DONE) return l.error("delete the lease of job " + job.id());
  return job;
}

Result<Store::Cancelled> SqliteStore::cancel(const std::string& job_id, const std::string& by) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RACERIG_TRY(tx.begun());
  RACERIG_ASSIGN(auto job, get_locked(id));
  if (!job) return make_error(ErrorKind::kInput, "id: no job " + job_id);
  if (is_final(job->state()) || !job->cancelled_by().empty()) return Cancelled::kAlready;
  job->set_cancelled_by(by);
  Cancelled what = Cancelled::kRequested;
  if (job->state() == pb::QUEUED) {
    job->set_state(pb::CANCELLED);
    job->set_error("cancelled by " + by + " before it started");
    job->set_exit_code(3);
    RACERIG_TRY(finish_locked(id, std::move(*job)));
    what = Cancelled::kNow;
  } else {
    RACERIG_TRY(put_locked(*job));
  }
  RACERIG_TRY(tx.commit());
  changes_.bump();
  return what;
}

Result<std::optional<std::string>> SqliteStore::cancel_requested(const std::string& job_id) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  std::lock_guard<std::mutex> lock(mu_);
  RACERIG_ASSIGN(auto job, get_locked(id));
  if (!job) return make_error(ErrorKind::kInput, "id: no job " + job_id);
  if (job->cancelled_by().empty()) return std::optional<std::string>();
  return std::optional<std::string>(job->cancelled_by());
}

Status SqliteStore::requeue_locked(int64_t id, pb::Job job, const std::string& reason) {
  job.set_state(pb::QUEUED);
  pb::JobEvent ev;
  ev.mutable_requeued()->set_attempt(job.attempt() + 1);
  ev.mutable_requeued()->set_reason(reason);
  RACERIG_ASSIGN(int64_t seq, append_locked(id, job.attempt(), ev));
  job.set_last_event_seq(seq);
  RACERIG_TRY(put_locked(job));
  Stmt l(db_, "DELETE FROM leases WHERE job_id = ?");
  if (!l.ok()) return l.error("delete lease");
  l.bind(1, id);
  if (l.step() != SQLITE_DONE) return l.error("delete the lease of job " + job.id());
  Stmt q(db_, "UPDATE jobs SET queued_ms = ? WHERE id = ?");
  if (!q.ok()) return q.error("requeue job");
  q.bind(1, now_unix_ms()).bind(2, id);
  if (q.step() != SQLITE_DONE) return q.error("requeue job " + job.id());
  return Status::Ok();
}

Status SqliteStore::requeue(const std::string& job_id, const Lease& lease, const std::string& reason) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RACERIG_TRY(tx.begun());
  if (!check_lease_locked(id, lease).ok()) return Status::Ok();  // someone else's now, or ended
  RACERIG_ASSIGN(auto job, get_locked(id));
  if (!job || job->state() != pb::RUNNING) return Status::Ok();
  if (!job->cancelled_by().empty()) {  // a cancel was requested meanwhile: it stands
    job->set_state(pb::CANCELLED);
    job->set_exit_code(3);
    job->set_error("cancelled by " + job->cancelled_by());
    RACERIG_TRY(finish_locked(id, std::move(*job)));
  } else {
    RACERIG_TRY(requeue_locked(id, std::move(*job), reason));
  }
  RACERIG_TRY(tx.commit());
  changes_.bump();
  return Status::Ok();
}

Result<int> SqliteStore::reap(int64_t before_ms, int max_attempts, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RACERIG_TRY(tx.begun());
  std::vector<int64_t> orphans;
  {
    // A RUNNING job without a lease row cannot be (claims write both); the
    // LEFT JOIN treats one as expired all the same.
    Stmt q(db_, "SELECT jobs.id FROM jobs LEFT JOIN leases ON leases.job_id = jobs.id WHERE jobs.state = ? AND "
                "COALESCE(leases.expires_ms, 0) <= ? ORDER BY jobs.id");
    if (!q.ok()) return q.error("select expired leases");
    q.bind(1, pb::RUNNING).bind(2, before_ms);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) orphans.push_back(q.integer(0));
    if (rc != SQLITE_DONE) return q.error("select expired leases");
  }
  int requeued = 0;
  for (int64_t id : orphans) {
    RACERIG_ASSIGN(auto job, get_locked(id));
    if (!job) continue;
    const int attempt = job->attempt();
    pb::Job out = orphan_outcome(std::move(*job), max_attempts, why);
    if (out.state() == pb::QUEUED) {
      RACERIG_TRY(requeue_locked(id, std::move(out), why + " during attempt " + std::to_string(attempt)));
      ++requeued;
    } else {
      RACERIG_TRY(finish_locked(id, std::move(out)));
    }
  }
  RACERIG_TRY(tx.commit());
  if (!orphans.empty()) changes_.bump();
  return requeued;
}

Result<int> SqliteStore::requeue_expired(int max_attempts) {
  return reap(now_unix_ms(), max_attempts, "the worker's lease expired");
}

Result<int> SqliteStore::recover(int max_attempts) {
  return reap(INT64_MAX, max_attempts, "the daemon stopped");
}

Result<std::optional<pb::Job>> SqliteStore::get(const std::string& job_id) {
  auto id = parse_job_id(job_id);
  if (!id.ok()) return std::optional<pb::Job>();
  std::lock_guard<std::mutex> lock(mu_);
  return get_locked(*id);
}

Result<std::optional<SqliteStore::Head>> SqliteStore::head(const std::string& job_id) {
  auto id = parse_job_id(job_id);
  if (!id.ok()) return std::optional<Head>();
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_,
         "SELECT jobs.state, summaries.attempt, (SELECT COALESCE(MAX(seq), 0) FROM events WHERE job_id = ?1) FROM jobs "
         "JOIN summaries ON summaries.job_id = jobs.id WHERE jobs.id = ?1");
  if (!q.ok()) return q.error("select job");
  q.bind(1, *id);
  const int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<Head>();
  if (rc != SQLITE_ROW) return q.error("select job");
  return std::optional<Head>(
      Head{static_cast<pb::JobState>(q.integer(0)), static_cast<int>(q.integer(1)), q.integer(2)});
}

Result<std::vector<pb::JobEvent>> SqliteStore::events_after(const std::string& job_id, int64_t after_seq, int limit) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT record, attempt FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?");
  if (!q.ok()) return q.error("select events");
  q.bind(1, id).bind(2, after_seq).bind(3, limit);
  std::vector<pb::JobEvent> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    pb::JobEvent ev;
    if (!ev.ParseFromString(q.blob(0))) return make_error(ErrorKind::kIo, "job store: an event of job " + job_id + " does not parse");
    ev.set_attempt(static_cast<int32_t>(q.integer(1)));  // the column: version 1's records have none
    out.push_back(std::move(ev));
  }
  if (rc != SQLITE_DONE) return q.error("select events");
  return out;
}

Result<std::vector<pb::Job>> SqliteStore::list(const std::vector<pb::JobState>& states,
                                         const std::optional<std::string>& submitter, int64_t before_id, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  // The summaries only: no report is read, let alone parsed, for a listing.
  std::string sql =
      "SELECT summaries.summary, (SELECT COALESCE(MAX(seq), 0) FROM events WHERE events.job_id = jobs.id) FROM jobs "
      "JOIN summaries ON summaries.job_id = jobs.id WHERE jobs.id < ?";
  if (submitter) sql += " AND jobs.submitter = ?";
  if (!states.empty()) {
    sql += " AND jobs.state IN (";
    for (size_t i = 0; i < states.size(); ++i) sql += i ? ",?" : "?";
    sql += ")";
  }
  sql += " ORDER BY jobs.id DESC LIMIT ?";
  Stmt q(db_, sql.c_str());
  if (!q.ok()) return q.error("list jobs");
  int i = 1;
  q.bind(i++, before_id > 0 ? before_id : INT64_MAX);
  if (submitter) q.bind(i++, *submitter);
  for (auto s : states) q.bind(i++, static_cast<int64_t>(s));
  q.bind(i, limit);
  std::vector<pb::Job> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    pb::Job job;
    if (!job.ParseFromString(q.blob(0))) return make_error(ErrorKind::kIo, "job store: a job summary does not parse");
    job.set_last_event_seq(q.integer(1));
    out.push_back(std::move(job));
  }
  if (rc != SQLITE_DONE) return q.error("list jobs");
  return out;
}

Result<int> SqliteStore::count(pb::JobState state) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt c(db_, "SELECT COUNT(*) FROM jobs WHERE state = ?");
  if (!c.ok()) return c.error("count");
  c.bind(1, state);
  if (c.step() != SQLITE_ROW) return c.error("count");
  return static_cast<int>(c.integer(0));
}

Result<bool> SqliteStore::remove(const std::string& job_id) {
  auto id = parse_job_id(job_id);
  if (!id.ok()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RACERIG_TRY(tx.begun());
  RACERIG_ASSIGN(auto job, get_locked(*id));
  if (!job || !is_final(job->state())) return false;
  Stmt ev(db_, "DELETE FROM events WHERE job_id = ?");
  if (!ev.ok()) return ev.error("delete events");
  ev.bind(1, *id);
  if (ev.step() != SQLITE_DONE) return ev.error("delete events");
  Stmt j(db_, "DELETE FROM jobs WHERE id = ?");
  if (!j.ok()) return j.error("delete job");
  j.bind(1, *id);
  if (j.step() != SQLITE_DONE) return j.error("delete job");
  Stmt sum(db_, "DELETE FROM summaries WHERE job_id = ?");
  if (!sum.ok()) return sum.error("delete job summary");
  sum.bind(1, *id);
  if (sum.step() != SQLITE_DONE) return sum.error("delete job summary");
  RACERIG_TRY(tx.commit());
  changes_.bump();
  return true;
}

Result<std::vector<pb::Job>> SqliteStore::ended_before(int64_t unix_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT record FROM jobs WHERE state IN (?, ?, ?, ?) ORDER BY id");
  if (!q.ok()) return q.error("select ended");
  q.bind(1, pb::SUCCEEDED).bind(2, pb::FAILED).bind(3, pb::CANCELLED).bind(4, pb::INTERRUPTED);
  std::vector<pb::Job> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    pb::Job job;
    if (!job.ParseFromString(q.blob(0))) return make_error(ErrorKind::kIo, "job store: a record does not parse");
    const int64_t ended = job.finished_unix_ms() != 0 ? job.finished_unix_ms() : job.submitted_unix_ms();
    if (ended < unix_ms) out.push_back(std::move(job));
  }
  if (rc != SQLITE_DONE) return q.error("select ended");
  return out;
}

Result<int> SqliteStore::count(pb::JobState state, const std::string& submitter) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt c(db_, "SELECT COUNT(*) FROM jobs WHERE state = ? AND submitter = ?");
  if (!c.ok()) return c.error("count");
  c.bind(1, state).bind(2, submitter);
  if (c.step() != SQLITE_ROW) return c.error("count");
  return static_cast<int>(c.integer(0));
}

Status SqliteStore::heartbeat(const pb::Worker& worker, std::chrono::milliseconds lease) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RACERIG_TRY(tx.begun());
  const int64_t now = now_unix_ms();
  Stmt u(db_, "INSERT OR REPLACE INTO workers (name, last_beat_ms, lease_ms, running, slots, kernels, record) VALUES "
              "(?, ?, ?, ?, ?, ?, ?)");
  if (!u.ok()) return u.error("store a heartbeat");
  u.bind(1, worker.name()).bind(2, now).bind(3, static_cast<int64_t>(lease.count())).bind(4, worker.jobs_running());
  u.bind(5, worker.slots()).bind(6, json_array(worker.kernels())).bind_blob(7, worker.SerializeAsString());
  if (u.step() != SQLITE_DONE) return u.error("store the heartbeat of worker " + worker.name());
  Stmt d(db_, "DELETE FROM workers WHERE last_beat_ms < ?");
  if (!d.ok()) return d.error("delete old heartbeats");
  d.bind(1, now - 24 * 3600 * 1000LL);
  if (d.step() != SQLITE_DONE) return d.error("delete old heartbeats");
  return tx.commit();
}

Status SqliteStore::remove_worker(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt d(db_, "DELETE FROM workers WHERE name = ?");
  if (!d.ok()) return d.error("delete a heartbeat");
  d.bind(1, name);
  if (d.step() != SQLITE_DONE) return d.error("delete the heartbeat of worker " + name);
  return Status::Ok();
}

Result<std::vector<pb::Worker>> SqliteStore::workers() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT record, last_beat_ms, lease_ms FROM workers ORDER BY name");
  if (!q.ok()) return q.error("list workers");
  const int64_t now = now_unix_ms();
  std::vector<pb::Worker> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    pb::Worker worker;
    if (!worker.ParseFromString(q.blob(0)))
      return make_error(ErrorKind::kIo, "job store: a worker's heartbeat record does not parse");
    worker.set_last_heartbeat_unix_ms(q.integer(1));
    worker.set_heartbeat_age_ms(std::max<int64_t>(0, now - q.integer(1)));
    worker.set_lease_ms(q.integer(2));
    worker.set_lost(worker.heartbeat_age_ms() > worker.lease_ms());
    out.push_back(std::move(worker));
  }
  if (rc != SQLITE_DONE) return q.error("list workers");
  return out;
}

}  // namespace racerig::service
