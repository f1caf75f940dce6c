// The store contract (store_contract.h) against PostgresStore, on a server
// of this test's own (local_postgres.h: initdb, pg_ctl as a non-root user):
// a new database per test. Then what only PostgreSQL has: its schema
// migrations, and a server that goes away mid-run (an error naming the
// server, never its password; no crash, no hang).
#include <atomic>
#include <memory>

#include <gtest/gtest.h>

#include "rig/service/postgres_store.h"
#include "rig/service/store_contract.h"
#include "rig/service/local_postgres.h"

namespace racerig::service {
namespace {

// One server for the whole binary, started before the first test and
// stopped and removed after the last, also when tests failed.
class ServerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto started = LocalPostgres::start();
    if (!started.ok()) {
      ADD_FAILURE() << started.error().message;
      return;
    }
    pg = std::move(*started);
  }
  void TearDown() override { pg.reset(); }
  static inline std::unique_ptr<LocalPostgres> pg;
};
const ::testing::Environment* const kServer = ::testing::AddGlobalTestEnvironment(new ServerEnvironment);

LocalPostgres* server() { return ServerEnvironment::pg.get(); }

// A database of its own per test.
std::string fresh_database() {
  static std::atomic<int> n{0};
  const std::string name = "t" + std::to_string(n++);
  if (Status s = server()->create_database(name); !s.ok()) ADD_FAILURE() << s.error().message;
  return name;
}

class PostgresBackend {
 public:
  static constexpr bool kShared = true;
  Result<std::unique_ptr<Store>> fresh() {
    if (server() == nullptr) return make_error(ErrorKind::kIo, "no PostgreSQL server (see the first failure)");
    db_ = fresh_database();
    return again();
  }
  Result<std::unique_ptr<Store>> again() {
    RACERIG_ASSIGN(auto s, PostgresStore::open(server()->dsn(db_)));
    return std::unique_ptr<Store>(std::move(s));
  }

 private:
  std::string db_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreContract, PostgresBackend);

TEST(PostgresStoreTest, ADsnThatDoesNotParseIsRefusedWithoutEchoingIt) {
  auto bad = PostgresStore::open("postgresql://ci:hunter2@db.example/racerig?no_such_option=1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kInput);
  EXPECT_EQ(bad.error().message.find("hunter2"), std::string::npos) << bad.error().message;
  auto label = parse_postgres_dsn("postgresql://ci:hunter2@db.example:5433/racerig?sslmode=require");
  ASSERT_TRUE(label.ok()) << label.error().message;
  EXPECT_EQ(label->label, "postgresql://db.example:5433/racerig");
  EXPECT_NE(label->conninfo.find("connect_timeout="), std::string::npos) << "a connect deadline is added";
}

// A database of version 1 (before leases) with a running job: opened, it is
// version 2 and the job, given an expired lease, is queued again.
TEST(PostgresStoreTest, AVersion1SchemaIsMigratedWithItsJobs) {
  ASSERT_NE(server(), nullptr);
  const std::string db = fresh_database();
  pb::Job old;
  old.set_id("1");
  old.set_submitter("ci");
  old.set_state(pb::RUNNING);
  old.set_attempt(1);
  old.mutable_reproduce()->mutable_scenario()->set_name("xfs-dax-flip-vs-write-fault");
  std::string hex;
  for (unsigned char c : old.SerializeAsString()) {
    char b[3];
    std::snprintf(b, sizeof(b), "%02x", c);
    hex += b;
  }
  auto made = server()->psql(
      "CREATE TABLE racerig_schema (version INTEGER NOT NULL); INSERT INTO racerig_schema VALUES (1);"
      "CREATE TABLE jobs (id BIGSERIAL PRIMARY KEY, state INTEGER NOT NULL, submitter TEXT NOT NULL,"
      " request_id TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, cancelled_by TEXT NOT NULL DEFAULT '',"
      " finished_ms BIGINT NOT NULL DEFAULT 0, last_seq BIGINT NOT NULL DEFAULT 0, record BYTEA NOT NULL,"
      " summary BYTEA NOT NULL);"
      "CREATE UNIQUE INDEX jobs_request ON jobs (submitter, request_id) WHERE request_id <> '';"
      "CREATE INDEX jobs_state ON jobs (state, id); CREATE INDEX jobs_submitter ON jobs (submitter, id);"
      "CREATE TABLE events (job_id BIGINT NOT NULL, seq BIGINT NOT NULL, attempt INTEGER NOT NULL,"
      " record BYTEA NOT NULL, PRIMARY KEY (job_id, seq));"
      "INSERT INTO jobs (state, submitter, request_id, attempt, last_seq, record, summary) VALUES (" +
          std::to_string(pb::RUNNING) + ", 'ci', '', 1, 0, '\\x" + hex + "', '\\x" + hex + "');",
      db);
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto store = PostgresStore::open(server()->dsn(db));
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(server()->psql("SELECT version FROM racerig_schema", db).value_or("?"), std::to_string(PostgresStore::kSchemaVersion) + "\n");
  auto requeued = (*store)->requeue_expired(3);
  ASSERT_TRUE(requeued.ok()) << requeued.error().message;
  EXPECT_EQ(*requeued, 1) << "version 1's running job has an expired lease";
  auto claimed = (*store)->claim_next("w1", std::chrono::minutes(1));
  ASSERT_TRUE(claimed.ok() && *claimed);
  EXPECT_EQ((*claimed)->id(), "1");
  EXPECT_EQ((*claimed)->attempt(), 2);
}

TEST(PostgresStoreTest, ASchemaNewerThanThisBuildIsRefused) {
  ASSERT_NE(server(), nullptr);
  const std::string db = fresh_database();
  ASSERT_TRUE(server()->psql("CREATE TABLE racerig_schema (version INTEGER NOT NULL);"
                             "INSERT INTO racerig_schema VALUES (99);",
                             db)
                  .ok());
  auto store = PostgresStore::open(server()->dsn(db));
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("schema version 99"), std::string::npos) << store.error().message;
}

// A server that stops answering (frozen: its sockets open, nothing
// answers) fails the call at its deadline instead of hanging it; thawed,
// the next call works.
TEST(PostgresStoreTest, AServerThatStopsAnsweringFailsTheCallAtItsDeadline) {
  ASSERT_NE(server(), nullptr);
  const std::string db = fresh_database();
  auto store = PostgresStore::open(server()->dsn(db), std::chrono::milliseconds(1000));
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto in = (*store)->insert(contract_job(), 10);
  ASSERT_TRUE(in.ok() && *in);
  ASSERT_TRUE(server()->pause().ok());
  auto get = (*store)->get((*in)->job.id());
  ASSERT_TRUE(server()->resume().ok());
  ASSERT_FALSE(get.ok()) << "answered while frozen?";
  EXPECT_NE(get.error().message.find(server()->socket_dir().string()), std::string::npos) << get.error().message;
  auto again = (*store)->get((*in)->job.id());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->has_value());
}

// Last (it stops the server; the suite's server comes back after): every
// call fails with the server named, the password never shown, and the next
// call after the server returns works again.
TEST(PostgresStoreTest, ZzAServerThatGoesAwayIsAnErrorNamingIt) {
  ASSERT_NE(server(), nullptr);
  const std::string db = fresh_database();
  auto store = PostgresStore::open(server()->dsn(db));
  ASSERT_TRUE(store.ok()) << store.error().message;
  Store& s = **store;
  auto in = s.insert(contract_job(), 10);
  ASSERT_TRUE(in.ok() && *in);
  ASSERT_TRUE(server()->stop().ok());
  auto claim = s.claim_next("w1", std::chrono::minutes(1));
  ASSERT_FALSE(claim.ok());
  EXPECT_NE(claim.error().message.find(server()->socket_dir().string()), std::string::npos) << claim.error().message;
  EXPECT_EQ(claim.error().message.find(LocalPostgres::kPassword), std::string::npos) << claim.error().message;
  auto get = s.get((*in)->job.id());
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().message.find(LocalPostgres::kPassword), std::string::npos) << get.error().message;
  auto reopened = PostgresStore::open(server()->dsn(db));
  ASSERT_FALSE(reopened.ok());
  EXPECT_NE(reopened.error().message.find(server()->socket_dir().string()), std::string::npos)
      << reopened.error().message;
  EXPECT_EQ(reopened.error().message.find(LocalPostgres::kPassword), std::string::npos) << reopened.error().message;
  ASSERT_TRUE(server()->restart().ok());
  auto back = s.claim_next("w1", std::chrono::minutes(1));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->has_value()) << "the job queued before the outage";
}

}  // namespace
}  // namespace racerig::service
