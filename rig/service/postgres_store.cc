// The PostgreSQL job store (see postgres_store.h).
//
// Schema (racerig_schema holds its version): jobs(id, state, submitter,
// request_id, attempt, cancelled_by, finished_ms, last_seq, record,
// summary, lease_owner, lease_expires) where record is the serialized
// pb::Job, summary the same without report and patch contents (what
// ListJobs reads) and the other columns are for queries, written from the
// record; events(job_id, seq, attempt, record). An event's seq comes from
// its job's last_seq, incremented by the same UPDATE that checks the lease
// (the fence). Version 1 had no leases; version 2 adds lease_owner and
// lease_expires (a RUNNING job of version 1 gets an expired lease); version
// 3 adds jobs.kernels (the kernel cache keys a job needs, from its record)
// and jobs.queued_at (when it was last queued), and workers(name,
// last_beat, lease_ms, running, slots, kernels, record): one heartbeat per
// worker process, record the serialized pb::Worker. A claim prefers jobs
// whose kernels the claimer holds (the affinity clause in claim_next()).
#include "rig/service/postgres_store.h"

#include <libpq-fe.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <pqxx/pqxx>

namespace racerig::service {

namespace {

constexpr const char* kChannel = "racerig_jobs";
// Advisory lock keys (any two numbers of our own): migrations, and the
// queue's bound against concurrent inserts.
constexpr int64_t kMigrationLock = 0x72616365'72696701;
constexpr int64_t kQueueLock = 0x72616365'72696702;

// Migration N (1-based) takes a schema at version N-1 to version N.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE jobs (
  id BIGSERIAL PRIMARY KEY,
  state INTEGER NOT NULL,
  submitter TEXT NOT NULL,
  request_id TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  cancelled_by TEXT NOT NULL DEFAULT '',
  finished_ms BIGINT NOT NULL DEFAULT 0,
  last_seq BIGINT NOT NULL DEFAULT 0,
  record BYTEA NOT NULL,
  summary BYTEA NOT NULL
);
CREATE UNIQUE INDEX jobs_request ON jobs (submitter, request_id) WHERE request_id <> '';
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_submitter ON jobs (submitter, id);
CREATE TABLE events (
  job_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  attempt INTEGER NOT NULL,
  record BYTEA NOT NULL,
  PRIMARY KEY (job_id, seq)
);
)sql",
    R"sql(
ALTER TABLE jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '', ADD COLUMN lease_expires TIMESTAMPTZ;
UPDATE jobs SET lease_expires = '-infinity' WHERE state = 2;
CREATE INDEX jobs_lease ON jobs (state, lease_expires);
)sql",
    R"sql(
ALTER TABLE jobs ADD COLUMN kernels TEXT[] NOT NULL DEFAULT '{}', ADD COLUMN queued_at TIMESTAMPTZ NOT NULL DEFAULT now();
CREATE TABLE workers (
  name TEXT PRIMARY KEY,
  last_beat TIMESTAMPTZ NOT NULL,
  lease_ms BIGINT NOT NULL,
  running INTEGER NOT NULL,
  slots INTEGER NOT NULL,
  kernels TEXT[] NOT NULL,
  record BYTEA NOT NULL
);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == PostgresStore::kSchemaVersion);
static_assert(pb::RUNNING == 2, "migration 2 names RUNNING by its number");

// The first line of a libpq/libpqxx message.
std::string first_line(const std::string& text) {
  std::string out = text.substr(0, text.find('\n'));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\r')) out.pop_back();
  return out;
}

// libpq's quoting of a keyword=value value.
std::string quote_value(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// A PostgreSQL array literal of `items` ('{"a","b"}'), for a ::text[] parameter.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    out += i ? ",\"" : "\"";
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}
template <typename Items>
std::vector<std::string> strings_of(const Items& items) {
  return std::vector<std::string>(items.begin(), items.end());
}

pqxx::binarystring bytes_param(const std::string& s) { return pqxx::binarystring(s.data(), s.size()); }
std::string bytes_of(const pqxx::field& f) { return pqxx::binarystring(f).str(); }

// The job's record and last_seq, read in `w`; nullopt for no such job.
// `lock`: FOR UPDATE (the caller changes the job).
Result<std::optional<pb::Job>> get_in(pqxx::work& w, int64_t id, bool lock) {
  const pqxx::result r = w.exec_params(
      std::string("SELECT record, last_seq FROM jobs WHERE id = $1") + (lock ? " FOR UPDATE" : ""), id);
  if (r.empty()) return std::optional<pb::Job>();
  pb::Job job;
  if (!job.ParseFromString(bytes_of(r[0][0])))
    return make_error(ErrorKind::kIo, "job store: the record of job " + std::to_string(id) + " does not parse");
  job.set_last_event_seq(r[0][1].as<int64_t>());
  return std::optional<pb::Job>(std::move(job));
}

void notify(pqxx::work& w, int64_t id) { w.exec_params("SELECT pg_notify($1, $2)", kChannel, std::to_string(id)); }

// The job's columns and record from `job`.
void put_in(pqxx::work& w, const pb::Job& job) {
  w.exec_params("UPDATE jobs SET state = $2, attempt = $3, cancelled_by = $4, finished_ms = $5, record = $6, "
                "summary = $7 WHERE id = $1",
                static_cast<int64_t>(std::stoll(job.id())), static_cast<int>(job.state()), job.attempt(),
                job.cancelled_by(), static_cast<int64_t>(job.finished_unix_ms()), bytes_param(job.SerializeAsString()),
                bytes_param(summary_of(job).SerializeAsString()));
}

// Stores `event` as attempt `attempt` (at least 1) of job `id`; its seq.
int64_t append_in(pqxx::work& w, int64_t id, int attempt, pb::JobEvent event) {
  const int64_t seq = w.exec_params1("UPDATE jobs SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq", id)[0]
                          .as<int64_t>();
  attempt = std::max(attempt, 1);  // Queued: the first attempt's
  event.set_job_id(std::to_string(id));
  event.set_seq(seq);
  event.set_unix_ms(now_unix_ms());
  event.set_attempt(attempt);
  w.exec_params("INSERT INTO events (job_id, seq, attempt, record) VALUES ($1, $2, $3, $4)", id, seq, attempt,
                bytes_param(event.SerializeAsString()));
  notify(w, id);
  return seq;
}

// Stores `job`'s end and its Finished event, and drops its lease.
pb::Job finish_in(pqxx::work& w, int64_t id, pb::Job job) {
  job.set_finished_unix_ms(now_unix_ms());
  const int64_t last = w.exec_params1("SELECT last_seq FROM jobs WHERE id = $1", id)[0].as<int64_t>();
  // The Finished event's seq is known before it is written: the record it
  // carries says so.
  job.set_last_event_seq(last + 1);
  pb::JobEvent ev;
  *ev.mutable_finished()->mutable_job() = job;
  if (ev.finished().job().has_validate())  // patch bodies are not echoed to watchers
    for (auto& p : *ev.mutable_finished()->mutable_job()->mutable_validate()->mutable_patches()) p.clear_content();
  append_in(w, id, job.attempt(), ev);
  put_in(w, job);
  w.exec_params("UPDATE jobs SET lease_owner = '', lease_expires = NULL WHERE id = $1", id);
  return job;
}

// Job `id` back to QUEUED with a Requeued event; its lease dropped.
void requeue_in(pqxx::work& w, int64_t id, pb::Job job, const std::string& reason) {
  job.set_state(pb::QUEUED);
  pb::JobEvent ev;
  ev.mutable_requeued()->set_attempt(job.attempt() + 1);
  ev.mutable_requeued()->set_reason(reason);
  job.set_last_event_seq(append_in(w, id, job.attempt(), ev));
  put_in(w, job);
  w.exec_params("UPDATE jobs SET lease_owner = '', lease_expires = NULL, queued_at = now() WHERE id = $1", id);
}

// Ok when `lease` is job `id`'s (the row locked until the transaction
// ends); else the fenced error naming the holder, or kInput for an unknown
// or ended job.
Status check_lease_in(pqxx::work& w, int64_t id, const Lease& lease) {
  const pqxx::result r = w.exec_params("SELECT state, attempt, lease_owner FROM jobs WHERE id = $1 FOR UPDATE", id);
  if (r.empty()) return make_error(ErrorKind::kInput, "id: no job " + std::to_string(id));
  const auto state = static_cast<pb::JobState>(r[0][0].as<int>());
  const int attempt = r[0][1].as<int>();
  const std::string owner = r[0][2].as<std::string>();
  if (state == pb::RUNNING && attempt == lease.attempt && owner == lease.owner) return Status::Ok();
  if (is_final(state))
    return make_error(ErrorKind::kInput, "job " + std::to_string(id) + " has ended (" + pb::JobState_Name(state) +
                                             "): no event is stored after its Finished event");
  if (state == pb::RUNNING)
    return fenced(std::to_string(id), lease, "attempt " + std::to_string(attempt) + " of \"" + owner + "\"");
  return fenced(std::to_string(id), lease, pb::JobState_Name(state));
}

// Requeues (or ends: orphan_outcome) the RUNNING jobs of `where`, saying `why`.
Result<int> reap_in(pqxx::work& w, const std::string& where, int max_attempts, const std::string& why) {
  const pqxx::result r = w.exec_params(
      "SELECT id FROM jobs WHERE state = $1" + where + " ORDER BY id FOR UPDATE SKIP LOCKED", static_cast<int>(pb::RUNNING));
  int requeued = 0;
  for (const auto& row : r) {
    const int64_t id = row[0].as<int64_t>();
    RACERIG_ASSIGN(auto job, get_in(w, id, false));
    if (!job) continue;
    const int attempt = job->attempt();
    pb::Job out = orphan_outcome(std::move(*job), max_attempts, why);
    if (out.state() == pb::QUEUED) {
      requeue_in(w, id, std::move(out), why + " during attempt " + std::to_string(attempt));
      ++requeued;
    } else {
      finish_in(w, id, std::move(out));
    }
  }
  return requeued;
}

}  // namespace

Result<PostgresTarget> parse_postgres_dsn(const std::string& dsn) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (opts == nullptr) {
    std::string why = err ? first_line(err) : "out of memory";
    PQfreemem(err);
    // libpq's words, which quote no part of the DSN (it may hold a password).
    return make_error(ErrorKind::kInput, "--store: not a PostgreSQL DSN: " + why);
  }
  std::string host, port, dbname, user;
  bool has_connect_timeout = false, has_keepalives = false, has_user_timeout = false;
  PostgresTarget out;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string k = o->keyword, v = o->val;
    if (k == "host" || k == "hostaddr") host = host.empty() ? v : host;
    if (k == "port") port = v;
    if (k == "dbname") dbname = v;
    if (k == "user") user = v;
    has_connect_timeout |= k == "connect_timeout";
    has_keepalives |= k == "keepalives_idle";
    has_user_timeout |= k == "tcp_user_timeout";
    out.conninfo += k + "=" + quote_value(v) + " ";
  }
  PQconninfoFree(opts);
  // Deadlines where the DSN set none: connecting, and a peer gone quiet.
  if (!has_connect_timeout) out.conninfo += "connect_timeout=5 ";
  if (!has_keepalives) out.conninfo += "keepalives=1 keepalives_idle=10 keepalives_interval=5 keepalives_count=3 ";
  if (!has_user_timeout) out.conninfo += "tcp_user_timeout=20000 ";
  out.label = "postgresql://" + (host.empty() ? std::string("(default socket)") : host) + ":" +
              (port.empty() ? std::string("5432") : port) + "/" + (dbname.empty() ? user : dbname);
  return out;
}

struct PostgresStore::Connection {
  explicit Connection(const std::string& conninfo) : c(conninfo) {}
  pqxx::connection c;
};

PostgresStore::PostgresStore(PostgresTarget target, std::chrono::milliseconds statement_deadline)
    : target_(std::move(target)), statement_deadline_(statement_deadline) {}

void PostgresStore::enforce_deadline() {
  std::lock_guard<std::mutex> lock(busy_mu_);
  if (busy_fd_ < 0) return;
  if (std::chrono::steady_clock::now() - busy_since_ < statement_deadline_ + std::chrono::seconds(1)) return;
  std::fprintf(stderr, "racerigd: job store %s: no answer within %lld ms; dropping the connection\n",
               target_.label.c_str(), static_cast<long long>(statement_deadline_.count()));
  ::shutdown(busy_fd_, SHUT_RDWR);  // the blocked call fails: a broken connection
  busy_fd_ = -1;
}

PostgresStore::~PostgresStore() {
  stopping_ = true;
  if (listener_.joinable()) listener_.join();
}

Status PostgresStore::connect_locked() {
  if (conn_ && conn_->c.is_open()) return Status::Ok();
  conn_.reset();
  try {
    auto c = std::make_unique<Connection>(target_.conninfo);
    pqxx::nontransaction n(c->c);
    n.exec("SET statement_timeout = " + std::to_string(statement_deadline_.count()));
    n.commit();
    conn_ = std::move(c);
    return Status::Ok();
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kIo, "job store " + target_.label + ": cannot connect: " + first_line(e.what()));
  }
}

template <typename T, typename Body>
Result<T> PostgresStore::transact(const std::string& what, Body&& body) {
  std::lock_guard<std::mutex> lock(mu_);
  RACERIG_TRY(connect_locked());
  const std::string where = "job store " + target_.label + ": " + what + ": ";
  try {
    // Marks the transaction under way for enforce_deadline(); cleared when
    // the try block is left, before a handler below closes the socket.
    struct Busy {
      PostgresStore& s;
      Busy(PostgresStore& store, int fd) : s(store) {
        std::lock_guard<std::mutex> lock(s.busy_mu_);
        s.busy_fd_ = fd;
        s.busy_since_ = std::chrono::steady_clock::now();
      }
      ~Busy() {
        std::lock_guard<std::mutex> lock(s.busy_mu_);
        s.busy_fd_ = -1;
      }
    } busy(*this, conn_->c.sock());
    pqxx::work w(conn_->c);
    Result<T> r = body(w);
    if (r.ok()) w.commit();
    return r;
  } catch (const pqxx::broken_connection& e) {
    conn_.reset();
    return make_error(ErrorKind::kIo, where + "the connection broke: " + first_line(e.what()));
  } catch (const pqxx::sql_error& e) {
    // A serialization failure, a deadlock or a statement past its deadline:
    // the caller may try again (the service answers UNAVAILABLE).
    const std::string state = e.sqlstate();
    const bool retry = state == "40001" || state == "40P01" || state == "57014" || state == "55P03";
    if (!conn_->c.is_open()) conn_.reset();
    return make_error(retry ? ErrorKind::kTimeout : ErrorKind::kIo, where + first_line(e.what()));
  } catch (const std::exception& e) {
    conn_.reset();  // in doubt: start over on a new connection
    return make_error(ErrorKind::kIo, where + first_line(e.what()));
  }
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& dsn,
                                                         std::chrono::milliseconds statement_deadline) {
  RACERIG_ASSIGN(PostgresTarget target, parse_postgres_dsn(dsn));
  std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(target), statement_deadline));
  // The listener first: it also keeps the migration's deadline.
  store->listener_ = std::thread([s = store.get()] { s->listen(); });
  RACERIG_TRY(store->migrate());
  // Listening before open() returns: every change made after it wakes this
  // process's waiters. A listener that cannot connect keeps trying.
  std::unique_lock<std::mutex> lock(store->listen_mu_);
  store->listen_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return store->listen_tried_; });
  return store;
}

Status PostgresStore::migrate() {
  auto done = transact<bool>("migrating the schema", [&](pqxx::work& w) -> Result<bool> {
    w.exec_params("SELECT pg_advisory_xact_lock($1::bigint)", kMigrationLock);
    w.exec("CREATE TABLE IF NOT EXISTS racerig_schema (version INTEGER NOT NULL)");
    const pqxx::result v = w.exec("SELECT version FROM racerig_schema");
    const int version = v.empty() ? 0 : v[0][0].as<int>();
    if (version > kSchemaVersion)
      return make_error(ErrorKind::kIo, "job store " + target_.label + ": schema version " + std::to_string(version) +
                                            " was written by a newer racerigd; this one knows versions up to " +
                                            std::to_string(kSchemaVersion));
    for (int next = version + 1; next <= kSchemaVersion; ++next) w.exec(kMigrations[next - 1]);
    if (v.empty())
      w.exec_params("INSERT INTO racerig_schema (version) VALUES ($1)", kSchemaVersion);
    else
      w.exec_params("UPDATE racerig_schema SET version = $1", kSchemaVersion);
    return true;
  });
  if (!done.ok()) return done.error();
  return Status::Ok();
}

namespace {

// Turns each notification into a new generation.
class Wakeup final : public pqxx::notification_receiver {
 public:
  Wakeup(pqxx::connection_base& c, ChangeSignal& changes) : notification_receiver(c, kChannel), changes_(changes) {}
  void operator()(const std::string&, int) override { changes_.bump(); }

 private:
  ChangeSignal& changes_;
};

}  // namespace

void PostgresStore::listen() {
  bool failing = false;
  while (!stopping_) {
    try {
      pqxx::connection c(target_.conninfo);
      Wakeup wakeup(c, changes_);
      c.get_notifs();  // the LISTEN is sent with the first query
      if (failing) {
        std::fprintf(stderr, "racerigd: job store %s: listening again\n", target_.label.c_str());
        changes_.bump();  // whatever changed while nobody listened
      }
      failing = false;
      tried_listening();
      // Waits on the connection's socket; the timeout only lets a stop through.
      while (!stopping_) {
        c.await_notification(0, 500 * 1000);
        enforce_deadline();
      }
    } catch (const std::exception& e) {
      if (!failing)
        std::fprintf(stderr, "racerigd: job store %s: listening: %s; trying again every second\n",
                     target_.label.c_str(), first_line(e.what()).c_str());
      failing = true;
      tried_listening();
      changes_.bump();  // waiters look again (and see the store's error)
      for (int i = 0; i < 10 && !stopping_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        enforce_deadline();
      }
    }
  }
}

void PostgresStore::tried_listening() {
  {
    std::lock_guard<std::mutex> lock(listen_mu_);
    listen_tried_ = true;
  }
  listen_cv_.notify_all();
}

Result<std::optional<Store::Inserted>> PostgresStore::insert(pb::Job job, int max_queued,
                                                             int max_queued_per_submitter) {
  using Out = std::optional<Inserted>;
  auto out = transact<Out>("insert job", [&](pqxx::work& w) -> Result<Out> {
    // One insert at a time: the count and the insert below are one step
    // for every process that submits.
    w.exec_params("SELECT pg_advisory_xact_lock($1::bigint)", kQueueLock);
    const pqxx::row ahead = w.exec_params1(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE submitter = $2) FROM jobs WHERE state = $1",
        static_cast<int>(pb::QUEUED), job.submitter());
    const auto existing = [&]() -> Result<Out> {
      const pqxx::result r = w.exec_params("SELECT id FROM jobs WHERE submitter = $1 AND request_id = $2",
                                           job.submitter(), job.request_id());
      if (r.empty()) return Out();
      RACERIG_ASSIGN(auto found, get_in(w, r[0][0].as<int64_t>(), false));
      if (!found) return Out();
      return Out(Inserted{std::move(*found), true});
    };
    if (!job.request_id().empty()) {
      RACERIG_ASSIGN(Out found, existing());
      if (found) return found;
    }
    if (ahead[0].as<int64_t>() >= max_queued) return Out();
    if (max_queued_per_submitter > 0 && ahead[1].as<int64_t>() >= max_queued_per_submitter) return Out();
    job.set_state(pb::QUEUED);
    job.set_submitted_unix_ms(now_unix_ms());
    // The request id is unique per submitter (jobs_request): a submit that
    // raced this one to it makes no second job.
    const pqxx::result ins = w.exec_params(
        "INSERT INTO jobs (state, submitter, request_id, record, summary, kernels) VALUES ($1, $2, $3, '', '', "
        "$4::text[]) ON CONFLICT (submitter, request_id) WHERE request_id <> '' DO NOTHING RETURNING id",
        static_cast<int>(job.state()), job.submitter(), job.request_id(), text_array(strings_of(job.kernel_keys())));
    if (ins.empty()) return existing();
    const int64_t id = ins[0][0].as<int64_t>();
    job.set_id(std::to_string(id));
    pb::JobEvent ev;
    ev.mutable_queued()->set_ahead(static_cast<int32_t>(ahead[0].as<int64_t>()));
    job.set_last_event_seq(append_in(w, id, 1, ev));
    put_in(w, job);
    return Out(Inserted{std::move(job), false});
  });
  if (out.ok() && *out && !(*out)->existed) changes_.bump();
  return out;
}

Result<std::optional<pb::Job>> PostgresStore::claim_next(const std::string& owner, std::chrono::milliseconds lease,
                                                         int max_running_per_submitter, const Affinity& affinity) {
  using Out = std::optional<pb::Job>;
  auto out = transact<Out>("claim a job", [&](pqxx::work& w) -> Result<Out> {
    // The oldest queued job nobody else is claiming (SKIP LOCKED), leased
    // in the same statement. Affinity ($6 names the claimer): a job waits
    // for another live worker whose cache holds all its kernels and that
    // has a free slot, unless the claimer holds them too ($7) or it has
    // waited $8 ms since it was queued.
    const pqxx::result r = w.exec_params(
        "UPDATE jobs SET state = $2, attempt = jobs.attempt + 1, lease_owner = $4, "
        "lease_expires = now() + $5::bigint * interval '1 millisecond' "
        "WHERE id = (SELECT id FROM jobs j WHERE state = $1 AND ($3 <= 0 OR submitter NOT IN (SELECT submitter FROM jobs "
        "WHERE state = $2 GROUP BY submitter HAVING COUNT(*) >= $3)) AND ($6 = '' OR cardinality(j.kernels) = 0 OR "
        "j.kernels <@ $7::text[] OR j.queued_at <= now() - $8::bigint * interval '1 millisecond' OR NOT EXISTS "
        "(SELECT 1 FROM workers h WHERE h.name <> $6 AND h.last_beat > now() - h.lease_ms * interval '1 millisecond' "
        "AND h.running < h.slots AND j.kernels <@ h.kernels)) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, attempt",
        static_cast<int>(pb::QUEUED), static_cast<int>(pb::RUNNING), max_running_per_submitter, owner,
        static_cast<int64_t>(lease.count()), affinity.worker, text_array(affinity.held),
        static_cast<int64_t>(affinity.wait.count()));
    if (r.empty()) return Out();
    const int64_t id = r[0][0].as<int64_t>();
    RACERIG_ASSIGN(auto job, get_in(w, id, false));
    if (!job) return make_error(ErrorKind::kIo, "job store: job " + std::to_string(id) + " vanished");
    job->set_state(pb::RUNNING);
    job->set_attempt(r[0][1].as<int>());
    job->set_started_unix_ms(now_unix_ms());
    pb::JobEvent ev;
    ev.mutable_started()->set_attempt(job->attempt());
    job->set_last_event_seq(append_in(w, id, job->attempt(), ev));
    put_in(w, *job);
    return job;
  });
  if (out.ok() && *out) changes_.bump();
  return out;
}

Result<Store::Renewal> PostgresStore::renew(const std::string& job_id, const Lease& lease,
                                            std::chrono::milliseconds duration) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  return transact<Renewal>("renew the lease of job " + job_id, [&](pqxx::work& w) -> Result<Renewal> {
    const pqxx::result r = w.exec_params(
        "UPDATE jobs SET lease_expires = now() + $4::bigint * interval '1 millisecond' WHERE id = $1 AND state = $5 AND "
        "lease_owner = $2 AND attempt = $3 RETURNING cancelled_by",
        id, lease.owner, lease.attempt, static_cast<int64_t>(duration.count()), static_cast<int>(pb::RUNNING));
    Renewal out;
    if (r.empty()) {
      if (w.exec_params("SELECT 1 FROM jobs WHERE id = $1", id).empty())
        return make_error(ErrorKind::kInput, "id: no job " + job_id);
      return out;
    }
    out.held = true;
    if (const std::string by = r[0][0].as<std::string>(); !by.empty()) out.cancelled_by = by;
    return out;
  });
}

Result<Store::Cancelled> PostgresStore::cancel(const std::string& job_id, const std::string& by) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  auto out = transact<Cancelled>("cancel job " + job_id, [&](pqxx::work& w) -> Result<Cancelled> {
    RACERIG_ASSIGN(auto job, get_in(w, id, true));
    if (!job) return make_error(ErrorKind::kInput, "id: no job " + job_id);
    if (is_final(job->state()) || !job->cancelled_by().empty()) return Cancelled::kAlready;
    job->set_cancelled_by(by);
    if (job->state() == pb::QUEUED) {
      job->set_state(pb::CANCELLED);
      job->set_error("cancelled by " + by + " before it started");
      job->set_exit_code(3);
      finish_in(w, id, std::move(*job));
      return Cancelled::kNow;
    }
    put_in(w, *job);
    notify(w, id);
    return Cancelled::kRequested;
  });
  if (out.ok() && *out != Cancelled::kAlready) changes_.bump();
  return out;
}

Result<std::optional<std::string>> PostgresStore::cancel_requested(const std::string& job_id) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  using Out = std::optional<std::string>;
  return transact<Out>("read job " + job_id, [&](pqxx::work& w) -> Result<Out> {
    const pqxx::result r = w.exec_params("SELECT cancelled_by FROM jobs WHERE id = $1", id);
    if (r.empty()) return make_error(ErrorKind::kInput, "id: no job " + job_id);
    const std::string by = r[0][0].as<std::string>();
    return by.empty() ? Out() : Out(by);
  });
}

Result<int64_t> PostgresStore::append_event(const std::string& job_id, const Lease& lease, pb::JobEvent event) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  auto out = transact<int64_t>("append an event to job " + job_id, [&](pqxx::work& w) -> Result<int64_t> {
    RACERIG_TRY(check_lease_in(w, id, lease));
    return append_in(w, id, lease.attempt, std::move(event));
  });
  if (out.ok()) changes_.bump();
  return out;
}

Result<pb::Job> PostgresStore::finish(pb::Job job, const Lease& lease) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job.id()));
  auto out = transact<pb::Job>("finish job " + job.id(), [&](pqxx::work& w) -> Result<pb::Job> {
    RACERIG_TRY(check_lease_in(w, id, lease));
    RACERIG_ASSIGN(auto stored, get_in(w, id, false));
    if (!stored) return make_error(ErrorKind::kInput, "id: no job " + job.id());
    job.set_attempt(lease.attempt);
    if (job.cancelled_by().empty()) job.set_cancelled_by(stored->cancelled_by());
    return finish_in(w, id, std::move(job));
  });
  if (out.ok()) changes_.bump();
  return out;
}

Status PostgresStore::requeue(const std::string& job_id, const Lease& lease, const std::string& reason) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  auto out = transact<bool>("requeue job " + job_id, [&](pqxx::work& w) -> Result<bool> {
    if (!check_lease_in(w, id, lease).ok()) return false;  // someone else's now, or ended
    RACERIG_ASSIGN(auto job, get_in(w, id, false));
    if (!job) return false;
    if (!job->cancelled_by().empty()) {  // a cancel was requested meanwhile: it stands
      job->set_state(pb::CANCELLED);
      job->set_exit_code(3);
      job->set_error("cancelled by " + job->cancelled_by());
      finish_in(w, id, std::move(*job));
    } else {
      requeue_in(w, id, std::move(*job), reason);
    }
    return true;
  });
  if (!out.ok()) return out.error();
  if (*out) changes_.bump();
  return Status::Ok();
}

Result<int> PostgresStore::requeue_expired(int max_attempts) {
  auto out = transact<int>("requeue expired leases", [&](pqxx::work& w) -> Result<int> {
    return reap_in(w, " AND (lease_expires IS NULL OR lease_expires <= now())", max_attempts,
                   "the worker's lease expired");
  });
  if (out.ok()) changes_.bump();
  return out;
}

Result<int> PostgresStore::recover(int max_attempts) {
  auto out = transact<int>("recover running jobs", [&](pqxx::work& w) -> Result<int> {
    return reap_in(w, "", max_attempts, "the daemon stopped");
  });
  if (out.ok()) changes_.bump();
  return out;
}

Result<std::optional<pb::Job>> PostgresStore::get(const std::string& job_id) {
  auto id = parse_job_id(job_id);
  if (!id.ok()) return std::optional<pb::Job>();
  using Out = std::optional<pb::Job>;
  return transact<Out>("read job " + job_id, [&](pqxx::work& w) { return get_in(w, *id, false); });
}

Result<std::optional<Store::Head>> PostgresStore::head(const std::string& job_id) {
  auto id = parse_job_id(job_id);
  if (!id.ok()) return std::optional<Head>();
  using Out = std::optional<Head>;
  return transact<Out>("read job " + job_id, [&](pqxx::work& w) -> Result<Out> {
    const pqxx::result r = w.exec_params("SELECT state, attempt, last_seq FROM jobs WHERE id = $1", *id);
    if (r.empty()) return Out();
    return Out(Head{static_cast<pb::JobState>(r[0][0].as<int>()), r[0][1].as<int>(), r[0][2].as<int64_t>()});
  });
}

Result<std::vector<pb::JobEvent>> PostgresStore::events_after(const std::string& job_id, int64_t after_seq,
                                                              int limit) {
  RACERIG_ASSIGN(int64_t id, parse_job_id(job_id));
  using Out = std::vector<pb::JobEvent>;
  return transact<Out>("read the events of job " + job_id, [&](pqxx::work& w) -> Result<Out> {
    const pqxx::result r = w.exec_params(
        "SELECT record, attempt FROM events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", id, after_seq, limit);
    Out out;
    for (const auto& row : r) {
      pb::JobEvent ev;
      if (!ev.ParseFromString(bytes_of(row[0])))
        return make_error(ErrorKind::kIo, "job store: an event of job " + job_id + " does not parse");
      ev.set_attempt(row[1].as<int>());
      out.push_back(std::move(ev));
    }
    return out;
  });
}

Result<std::vector<pb::Job>> PostgresStore::list(const std::vector<pb::JobState>& states,
                                                 const std::optional<std::string>& submitter, int64_t before_id,
                                                 int limit) {
  // The summaries only: no report is read, let alone parsed, for a listing.
  std::string sql = "SELECT summary, last_seq FROM jobs WHERE id < $1 AND ($2 = '' OR submitter = $3)";
  if (!states.empty()) {
    sql += " AND state IN (";
    for (size_t i = 0; i < states.size(); ++i) sql += (i ? "," : "") + std::to_string(static_cast<int>(states[i]));
    sql += ")";
  }
  sql += " ORDER BY id DESC LIMIT $4";
  using Out = std::vector<pb::Job>;
  return transact<Out>("list jobs", [&](pqxx::work& w) -> Result<Out> {
    const pqxx::result r = w.exec_params(sql, before_id > 0 ? before_id : INT64_MAX,
                                         std::string(submitter ? "only" : ""), submitter.value_or(""), limit);
    Out out;
    for (const auto& row : r) {
      pb::Job job;
      if (!job.ParseFromString(bytes_of(row[0])))
        return make_error(ErrorKind::kIo, "job store: a job summary does not parse");
      job.set_last_event_seq(row[1].as<int64_t>());
      out.push_back(std::move(job));
    }
    return out;
  });
}

Result<int> PostgresStore::count(pb::JobState state) {
  return transact<int>("count jobs", [&](pqxx::work& w) -> Result<int> {
    return static_cast<int>(
        w.exec_params1("SELECT COUNT(*) FROM jobs WHERE state = $1", static_cast<int>(state))[0].as<int64_t>());
  });
}

Result<int> PostgresStore::count(pb::JobState state, const std::string& submitter) {
  return transact<int>("count jobs", [&](pqxx::work& w) -> Result<int> {
    return static_cast<int>(w.exec_params1("SELECT COUNT(*) FROM jobs WHERE state = $1 AND submitter = $2",
                                           static_cast<int>(state), submitter)[0]
                                .as<int64_t>());
  });
}

Result<bool> PostgresStore::remove(const std::string& job_id) {
  auto id = parse_job_id(job_id);
  if (!id.ok()) return false;
  auto out = transact<bool>("delete job " + job_id, [&](pqxx::work& w) -> Result<bool> {
    const pqxx::result r = w.exec_params("SELECT state FROM jobs WHERE id = $1 FOR UPDATE", *id);
    if (r.empty() || !is_final(static_cast<pb::JobState>(r[0][0].as<int>()))) return false;
    w.exec_params("DELETE FROM events WHERE job_id = $1", *id);
    w.exec_params("DELETE FROM jobs WHERE id = $1", *id);
    notify(w, *id);
    return true;
  });
  if (out.ok() && *out) changes_.bump();
  return out;
}

Result<std::vector<pb::Job>> PostgresStore::ended_before(int64_t unix_ms) {
  using Out = std::vector<pb::Job>;
  return transact<Out>("list ended jobs", [&](pqxx::work& w) -> Result<Out> {
    const pqxx::result r = w.exec_params(
        "SELECT record FROM jobs WHERE state IN ($1, $2, $3, $4) AND finished_ms < $5 ORDER BY id",
        static_cast<int>(pb::SUCCEEDED), static_cast<int>(pb::FAILED), static_cast<int>(pb::CANCELLED),
        static_cast<int>(pb::INTERRUPTED), unix_ms);
    Out out;
    for (const auto& row : r) {
      pb::Job job;
      if (!job.ParseFromString(bytes_of(row[0]))) return make_error(ErrorKind::kIo, "job store: a record does not parse");
      out.push_back(std::move(job));
    }
    return out;
  });
}

Status PostgresStore::heartbeat(const pb::Worker& worker, std::chrono::milliseconds lease) {
  auto out = transact<bool>("store the heartbeat of worker " + worker.name(), [&](pqxx::work& w) -> Result<bool> {
    w.exec_params(
        "INSERT INTO workers (name, last_beat, lease_ms, running, slots, kernels, record) VALUES ($1, now(), $2, $3, "
        "$4, $5::text[], $6) ON CONFLICT (name) DO UPDATE SET last_beat = now(), lease_ms = $2, running = $3, "
        "slots = $4, kernels = $5::text[], record = $6",
        worker.name(), static_cast<int64_t>(lease.count()), worker.jobs_running(), worker.slots(),
        text_array(strings_of(worker.kernels())), bytes_param(worker.SerializeAsString()));
    w.exec("DELETE FROM workers WHERE last_beat < now() - interval '1 day'");
    return true;
  });
  if (!out.ok()) return out.error();
  return Status::Ok();
}

Status PostgresStore::remove_worker(const std::string& name) {
  auto out = transact<bool>("delete the heartbeat of worker " + name, [&](pqxx::work& w) -> Result<bool> {
    w.exec_params("DELETE FROM workers WHERE name = $1", name);
    return true;
  });
  if (!out.ok()) return out.error();
  return Status::Ok();
}

Result<std::vector<pb::Worker>> PostgresStore::workers() {
  using Out = std::vector<pb::Worker>;
  return transact<Out>("list workers", [&](pqxx::work& w) -> Result<Out> {
    const pqxx::result r = w.exec(
        "SELECT record, (extract(epoch FROM last_beat) * 1000)::bigint, "
        "(extract(epoch FROM now() - last_beat) * 1000)::bigint, lease_ms FROM workers ORDER BY name");
    Out out;
    for (const auto& row : r) {
      pb::Worker worker;
      if (!worker.ParseFromString(bytes_of(row[0])))
        return make_error(ErrorKind::kIo, "job store: a worker's heartbeat record does not parse");
      worker.set_last_heartbeat_unix_ms(row[1].as<int64_t>());
      worker.set_heartbeat_age_ms(std::max<int64_t>(0, row[2].as<int64_t>()));
      worker.set_lease_ms(row[3].as<int64_t>());
      worker.set_lost(worker.heartbeat_age_ms() > worker.lease_ms());
      out.push_back(std::move(worker));
    }
    return out;
  });
}

}  // namespace racerig::service
