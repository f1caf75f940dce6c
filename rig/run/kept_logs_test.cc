// Kept run logs, in a scratch directory.
#include "rig/run/kept_logs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace racerig::run {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class KeptLogs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/racerig-kept-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    scratch_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
  fs::path scratch_;
};

TEST(KeptLogsRules, OnlyInfraErrorsAndStallsAreKept) {
  EXPECT_TRUE(keeps_logs(pb::INFRA_ERROR));
  EXPECT_TRUE(keeps_logs(pb::STALLED));
  EXPECT_FALSE(keeps_logs(pb::REPRODUCED));
  EXPECT_FALSE(keeps_logs(pb::NOT_REPRODUCED));
  EXPECT_FALSE(keeps_logs(pb::SCHEDULE_NOT_REACHED));
  EXPECT_FALSE(keeps_logs(pb::DEADLOCK));
  EXPECT_FALSE(keeps_logs(pb::OTHER_OOPS));
}

TEST(KeptLogsRules, TheNameSaysWhenWhatAndWhichRun) {
  // 2026-11-25 19:05:12 UTC.
  EXPECT_EQ(kept_logs_name(1795633512, "xfs-dax-flip-vs-write-fault", "buggy", 3),
            "20261125T190512Z-xfs-dax-flip-vs-write-fault-buggy-run3");
  EXPECT_EQ(kept_logs_name(0, "../a b", "x/y", 1), "19700101T000000Z-.._a_b-x_y-run1");
  EXPECT_EQ(kept_logs_name(0, "", "k", 2), "19700101T000000Z-_-k-run2");
}

TEST_F(KeptLogs, WritesTheThreeLogsReadableAndNotWritableByOthers) {
  const fs::path root = scratch_ / "logs" / "runs";  // made on demand
  auto dir = keep_run_logs(root, "n-run1", {"console line\n", "qemu: terminating\n", "RACERIG READY\n"});
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  EXPECT_EQ(*dir, root / "n-run1");
  EXPECT_EQ(read(*dir / "console.log"), "console line\n");
  EXPECT_EQ(read(*dir / "qemu.log"), "qemu: terminating\n");
  EXPECT_EQ(read(*dir / "agent.log"), "RACERIG READY\n");
  EXPECT_EQ(mode_of(*dir), 0755u);
  for (const char* f : {"console.log", "qemu.log", "agent.log"}) EXPECT_EQ(mode_of(*dir / f), 0644u) << f;
  int files = 0;
  for (const auto& e : fs::directory_iterator(*dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 3);  // nothing else: no images
}

TEST_F(KeptLogs, ATakenNameGetsASuffix) {
  auto a = keep_run_logs(scratch_, "same", {"a", "", ""});
  auto b = keep_run_logs(scratch_, "same", {"b", "", ""});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, scratch_ / "same");
  EXPECT_EQ(*b, scratch_ / "same-2");
  EXPECT_EQ(read(*a / "console.log"), "a");
  EXPECT_EQ(read(*b / "console.log"), "b");
}

TEST_F(KeptLogs, ARootThatCannotBeMadeIsAnErrorNamingIt) {
  std::ofstream(scratch_ / "file") << "x";
  auto dir = keep_run_logs(scratch_ / "file" / "runs", "n", {"", "", ""});
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message.find((scratch_ / "file").string()), std::string::npos) << dir.error().message;
}

}  // namespace
}  // namespace racerig::run
