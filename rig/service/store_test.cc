// The job store's promises on its own: a private file, a versioned schema
// migrated from the unversioned one (and a newer one refused), nothing
// stored after a job's Finished event, and a cancel decided against the
// claim in one place.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "rig/service/store.h"

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
  auto store = Store::open(db());
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->insert(a_job(), 10).ok());
  EXPECT_EQ(mode_of(db()), 0600u);
  if (fs::exists(db().string() + "-wal")) {
    EXPECT_EQ(mode_of(db().string() + "-wal"), 0600u);
  }
  EXPECT_EQ(user_version(), Store::kSchemaVersion);
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
  auto store = Store::open(db());
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(user_version(), Store::kSchemaVersion);
  auto job = (*store)->get("1");
  ASSERT_TRUE(job.ok() && *job);
  EXPECT_EQ((*job)->submitter(), "ci");
  auto claimed = (*store)->claim_next();
  ASSERT_TRUE(claimed.ok() && *claimed) << "the old job is still queued";
  EXPECT_EQ((*claimed)->id(), "1");
}

TEST_F(StoreTest, ASchemaNewerThanThisBuildIsRefused) {
  raw("PRAGMA user_version = 99");
  auto store = Store::open(db());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("schema version 99"), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find(db().string()), std::string::npos) << store.error().message;
}

TEST_F(StoreTest, NothingIsStoredAfterAJobsFinishedEvent) {
  auto store = Store::open(db());
  ASSERT_TRUE(store.ok());
  auto in = (*store)->insert(a_job(), 10);
  ASSERT_TRUE(in.ok() && *in);
  auto job = (*store)->claim_next();
  ASSERT_TRUE(job.ok() && *job);
  pb::JobEvent note;
  note.mutable_note()->set_text("while running");
  EXPECT_TRUE((*store)->append_event((*job)->id(), note).ok());
  (*job)->set_state(pb::SUCCEEDED);
  ASSERT_TRUE((*store)->finish(**job).ok());
  auto late = (*store)->append_event((*job)->id(), note);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("has ended"), std::string::npos) << late.error().message;
  auto events = (*store)->events_after((*job)->id(), 0, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE(events->empty());
  EXPECT_TRUE(events->back().has_finished());
}

TEST_F(StoreTest, ACancelIsDecidedAgainstTheClaim) {
  auto store = Store::open(db());
  ASSERT_TRUE(store.ok());
  Store& s = **store;
  // Before the claim: the job ends, and is never claimed.
  auto queued = s.insert(a_job(), 10);
  ASSERT_TRUE(queued.ok() && *queued);
  const std::string first = (*queued)->job.id();
  auto c = s.cancel(first, "ci");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Store::Cancelled::kNow);
  EXPECT_EQ((*s.get(first))->state(), pb::CANCELLED);
  auto none = s.claim_next();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // After the claim: a request the worker reads; a requeue (shutdown)
  // honours it; a second cancel changes nothing.
  auto second = s.insert(a_job(), 10);
  ASSERT_TRUE(second.ok() && *second);
  auto claimed = s.claim_next();
  ASSERT_TRUE(claimed.ok() && *claimed);
  const std::string id = (*claimed)->id();
  EXPECT_FALSE(s.cancel_requested(id)->has_value());
  c = s.cancel(id, "alice");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, Store::Cancelled::kRequested);
  EXPECT_EQ(s.cancel_requested(id)->value_or(""), "alice");
  EXPECT_EQ(*s.cancel(id, "ci"), Store::Cancelled::kAlready);
  ASSERT_TRUE(s.requeue(id, "the daemon stopped").ok());
  auto after = s.get(id);
  EXPECT_EQ((*after)->state(), pb::CANCELLED);
  EXPECT_EQ((*after)->cancelled_by(), "alice");
  EXPECT_EQ(*s.cancel(id, "ci"), Store::Cancelled::kAlready);
}

}  // namespace
}  // namespace racerig::service
