// What only the SQLite store promises (the contract both stores keep is
// store_contract.h): a private file, a versioned schema migrated from the
// unversioned one and from versions 1 and 2 (and a newer one refused), an
// event or a lease renewal that does not rewrite its job's row, and a
// listing that reads no record. StoreBench (disabled; run by hand) times
// events and listings.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "rig/service/sqlite_store.h"

namespace racerig::service {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("racerig-store-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path db() const { return dir_ / "racerigd.db"; }
  // Runs `sql` on the database file directly (what an older racerigd left).
  void raw(const std::string& sql) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
    char* msg = nullptr;
    EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &msg), SQLITE_OK) << (msg ? msg : "");
    sqlite3_free(msg);
    sqlite3_close(h);
  }
  int64_t user_version() {
    sqlite3* h = nullptr;
    EXPECT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &s, nullptr);
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
  }
  static pb::Job a_job() {
    pb::Job job;
    job.set_submitter("ci");
    job.mutable_reproduce()->mutable_scenario()->set_name("xfs-dax-flip-vs-write-fault");
    return job;
  }
  fs::path dir_;
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST_F(StoreTest, TheDatabaseIsPrivateAndVersioned) {
  raw("SELECT 1");  // an existing file as the default umask made it
  ::chmod(db().c_str(), 0644);
  auto store = SqliteStore::open(db());
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->insert(a_job(), 10).ok());
  EXPECT_EQ(mode_of(db()), 0600u);
  if (fs::exists(db().string() + "-wal")) {
    EXPECT_EQ(mode_of(db().string() + "-wal"), 0600u);
  }
  EXPECT_EQ(user_version(), SqliteStore::kSchemaVersion);
}

TEST_F(StoreTest, AnUnversionedDatabaseIsMigratedWithItsJobs) {
  // The schema of a racerigd before schema versions, with one queued job.
  pb::Job old = a_job();
  old.set_id("1");
  old.set_state(pb::QUEUED);
  std::string hex;
  for (unsigned char c : old.SerializeAsString()) {
    char b[3];
    std::snprintf(b, sizeof(b), "%02x", c);
    hex += b;
  }
  raw("CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, state INTEGER NOT NULL, submitter TEXT NOT NULL,"
      " request_id TEXT NOT NULL, record BLOB NOT NULL);"
      "CREATE TABLE events (job_id INTEGER NOT NULL, seq INTEGER NOT NULL, record BLOB NOT NULL,"
      " PRIMARY KEY (job_id, seq));"
      "INSERT INTO jobs (state, submitter, request_id, record) VALUES (" +
      std::to_string(pb::QUEUED) + ", 'ci', '', x'" + hex + "');");
  ASSERT_EQ(user_version(), 0);
  auto store = SqliteStore::open(db());
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(user_version(), SqliteStore::kSchemaVersion);
  auto job = (*store)->get("1");
  ASSERT_TRUE(job.ok() && *job);
  EXPECT_EQ((*job)->submitter(), "ci");
  auto claimed = (*store)->claim_next("w1", std::chrono::minutes(1));
  ASSERT_TRUE(claimed.ok() && *claimed) << "the old job is still queued";
  EXPECT_EQ((*claimed)->id(), "1");
}

TEST_F(StoreTest, ASchemaNewerThanThisBuildIsRefused) {
  raw("PRAGMA user_version = 99");
  auto store = SqliteStore::open(db());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("schema version 99"), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find(db().string()), std::string::npos) << store.error().message;
}

// A version 1 database (before attempts and summaries): its events become
// attempt 1, its jobs listable from their new summaries.
TEST_F(StoreTest, AVersion1DatabaseIsMigratedWithAttemptsAndSummaries) {
  pb::Job old = a_job();
  old.set_id("1");
  old.set_state(pb::SUCCEEDED);
  old.set_attempt(2);
  old.mutable_reproduce_report()->add_runs()->set_console("a console");
  pb::JobEvent ev;
  ev.mutable_note()->set_text("old");
  auto hex = [](const std::string& bytes) {
    std::string out;
    for (unsigned char c : bytes) {
      char b[3];
      std::snprintf(b, sizeof(b), "%02x", c);
      out += b;
    }
    return out;
  };
  raw("CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, state INTEGER NOT NULL, submitter TEXT NOT NULL,"
      " request_id TEXT NOT NULL, record BLOB NOT NULL);"
      "CREATE TABLE events (job_id INTEGER NOT NULL, seq INTEGER NOT NULL, record BLOB NOT NULL,"
      " PRIMARY KEY (job_id, seq));"
      "INSERT INTO jobs (state, submitter, request_id, record) VALUES (" +
      std::to_string(pb::SUCCEEDED) + ", 'ci', '', x'" + hex(old.SerializeAsString()) + "');" +
      "INSERT INTO events (job_id, seq, record) VALUES (1, 1, x'" + hex(ev.SerializeAsString()) + "');" +
      "PRAGMA user_version = 1;");
  auto store = SqliteStore::open(db());
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(user_version(), SqliteStore::kSchemaVersion);
  auto events = (*store)->events_after("1", 0, 10);
  ASSERT_TRUE(events.ok() && events->size() == 1u);
  EXPECT_EQ(events->front().attempt(), 1);
  auto listed = (*store)->list({}, std::nullopt, 0, 10);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().attempt(), 2);
  EXPECT_EQ(listed->front().last_event_seq(), 1);
  EXPECT_FALSE(listed->front().has_reproduce_report()) << "a summary has no report";
  auto head = (*store)->head("1");
  ASSERT_TRUE(head.ok() && *head);
  EXPECT_EQ((*head)->attempt, 2);
}

// A version 2 database (before leases) with a running job: its job gets an
// expired lease, so the next requeue_expired() queues it again.
TEST_F(StoreTest, AVersion2DatabaseIsMigratedWithExpiredLeases) {
  {
    auto store = SqliteStore::open(db());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->insert(a_job(), 10).ok());
    auto claimed = (*store)->claim_next("w1", std::chrono::hours(1));
    ASSERT_TRUE(claimed.ok() && *claimed);
  }
  raw("DROP TABLE leases; DROP TABLE workers; ALTER TABLE jobs DROP COLUMN kernels; ALTER TABLE jobs DROP COLUMN "
      "queued_ms; PRAGMA user_version = 2;");
  auto store = SqliteStore::open(db());
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(user_version(), SqliteStore::kSchemaVersion);
  auto n = (*store)->requeue_expired(3);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);
  auto again = (*store)->claim_next("w2", std::chrono::hours(1));
  ASSERT_TRUE(again.ok() && *again);
  EXPECT_EQ((*again)->attempt(), 2);
}

// An event is a row of its own: appending one leaves its job's row as it
// was (an UPDATE trigger counts rewrites), and a listing reads the
// summaries only (it works while a record is unreadable).
TEST_F(StoreTest, AnEventDoesNotRewriteItsJobAndAListingReadsNoRecord) {
  auto store = SqliteStore::open(db());
  ASSERT_TRUE(store.ok());
  SqliteStore& s = **store;
  pb::Job job = a_job();
  job.mutable_validate()->add_patches()->set_content(std::string(1 << 20, 'p'));  // a large record
  auto in = s.insert(job, 10);
  ASSERT_TRUE(in.ok() && *in);
  const std::string id = (*in)->job.id();
  ASSERT_TRUE(s.claim_next("w1", std::chrono::minutes(1)).ok());
  raw("CREATE TABLE rewrites (n INTEGER);"
      "CREATE TRIGGER count_rewrites AFTER UPDATE ON jobs BEGIN INSERT INTO rewrites VALUES (1); END;");
  pb::JobEvent note;
  note.mutable_note()->set_text("progress");
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(s.append_event(id, Lease{"w1", 1}, note).ok());
  ASSERT_TRUE(s.renew(id, Lease{"w1", 1}, std::chrono::minutes(1)).ok());
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(h, "SELECT COUNT(*) FROM rewrites", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(q, 0), 0) << "events or a renewal rewrote the job's row";
  sqlite3_finalize(q);
  sqlite3_close(h);
  EXPECT_EQ((*s.get(id))->last_event_seq(), 22);  // Queued, Started, 20 notes

  raw("DROP TRIGGER count_rewrites; UPDATE jobs SET record = x'ffff' WHERE id = " + id + ";");
  auto listed = s.list({}, std::nullopt, 0, 10);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().last_event_seq(), 22);
  EXPECT_EQ(listed->front().validate().patches(0).content(), "") << "no patch contents in a listing";
  EXPECT_FALSE(s.get(id).ok()) << "the record itself is unreadable";
}

// This process's bytes written to storage so far (/proc/self/io).
long long bytes_written() {
  std::ifstream in("/proc/self/io");
  std::string key;
  long long v = 0;
  while (in >> key >> v)
    if (key == "write_bytes:") return v;
  return -1;
}

// Not a test: the cost of an event and of a listing, printed (run by hand,
// with TMPDIR on a disk:
// service_unit_test --gtest_also_run_disabled_tests --gtest_filter='*StoreBench*').
TEST_F(StoreTest, DISABLED_StoreBench) {
  auto store = SqliteStore::open(db());
  ASSERT_TRUE(store.ok());
  SqliteStore& s = **store;
  // 50 finished jobs with a 1 MiB patch and a 2 MiB report each, and one
  // running job (with the same patch) that events are appended to.
  pb::Job job = a_job();
  job.mutable_validate()->add_patches()->set_content(std::string(1 << 20, 'p'));
  for (int i = 0; i < 50; ++i) {
    auto in = s.insert(job, 100);
    ASSERT_TRUE(in.ok() && *in);
    auto c = s.claim_next("w1", std::chrono::minutes(1));
    ASSERT_TRUE(c.ok() && *c);
    (*c)->set_state(pb::SUCCEEDED);
    for (int r = 0; r < 2; ++r) (*c)->mutable_validate_report()->add_scenarios()->set_scenario(std::string(1 << 20, 'r'));
    ASSERT_TRUE(s.finish(**c, Lease{"w1", (*c)->attempt()}).ok());
  }
  auto in = s.insert(job, 100);
  ASSERT_TRUE(in.ok() && *in);
  ASSERT_TRUE(s.claim_next("w1", std::chrono::minutes(1)).ok());
  const std::string id = (*in)->job.id();
  pb::JobEvent note;
  note.mutable_note()->set_text("a progress line of a typical length, say eighty characters or so");
  constexpr int kEvents = 200, kLists = 20;
  const long long w0 = bytes_written();
  const std::clock_t c0 = std::clock();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kEvents; ++i) ASSERT_TRUE(s.append_event(id, Lease{"w1", 1}, note).ok());
  auto t1 = std::chrono::steady_clock::now();
  const std::clock_t c1 = std::clock();
  const long long w1 = bytes_written();
  for (int i = 0; i < kLists; ++i) ASSERT_TRUE(s.list({}, std::nullopt, 0, 50).ok());
  auto t2 = std::chrono::steady_clock::now();
  const double event_ms = std::chrono::duration<double, std::milli>(t1 - t0).count() / kEvents;
  const double list_ms = std::chrono::duration<double, std::milli>(t2 - t1).count() / kLists;
  std::printf("StoreBench: per event (1 MiB patch in the job): %.3f ms, CPU %.3f ms, %lld KiB written; %.3f ms per "
              "ListJobs of 50 jobs (2 MiB reports each)\n",
              event_ms, 1000.0 * static_cast<double>(c1 - c0) / CLOCKS_PER_SEC / kEvents, (w1 - w0) / kEvents / 1024,
              list_ms);
}

}  // namespace
}  // namespace racerig::service
