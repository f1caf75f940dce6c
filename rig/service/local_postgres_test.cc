// LocalPostgres::remove_stale: what a killed test or bench left is removed,
// a live process's cluster and a directory of unknown origin are not. No
// server is needed: the stand-in directories have no data directory.
#include "rig/service/local_postgres.h"

#include "rig/process/stale.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <fstream>

#include <gtest/gtest.h>

namespace racerig::service {
namespace {

namespace fs = std::filesystem;

// A pid that no process has now: a child of ours, exited and reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

class RemoveStale : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() / ("racerig-local-postgres-test-" + std::to_string(::getpid()));
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
  }
  void TearDown() override { fs::remove_all(tmp_); }
  // A racerig-pg-NAME directory owned (its `owner` file) by `owner`; none
  // when nullopt.
  fs::path cluster(const std::string& name, std::optional<process::ProcessStamp> owner) {
    const fs::path dir = tmp_ / ("racerig-pg-" + name);
    fs::create_directories(dir);
    std::ofstream(dir / "server.log") << "a log\n";
    if (owner) std::ofstream(dir / "owner") << process::format_stamp(*owner) << "\n";
    return dir;
  }
  fs::path tmp_;
};

TEST_F(RemoveStale, ADeadOwnersDirectoryGoesALiveOnesAndAnUnknownOneStay) {
  const process::ProcessStamp me = process::self_stamp();
  const fs::path dead = cluster("dead", process::ProcessStamp{dead_pid(), me.start});
  const fs::path reused = cluster("reused", process::ProcessStamp{me.pid, me.start + 1});
  const fs::path live = cluster("live", me);
  const fs::path unknown = cluster("unknown", std::nullopt);
  const fs::path other = tmp_ / "racerig-other-dir";
  fs::create_directories(other);
  std::ofstream(other / "owner") << process::format_stamp({dead_pid(), me.start}) << "\n";

  std::vector<fs::path> removed = LocalPostgres::remove_stale(tmp_);
  std::sort(removed.begin(), removed.end());
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(removed[0], dead);
  EXPECT_EQ(removed[1], reused) << "our pid, another start time: its owner is gone";
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live)) << "its owner runs";
  EXPECT_TRUE(fs::exists(unknown)) << "no owner file: not known to be ours";
  EXPECT_TRUE(fs::exists(other)) << "not a cluster's directory";
}

TEST_F(RemoveStale, GarbageInTheOwnerFileIsLeftAlone) {
  const fs::path dir = tmp_ / "racerig-pg-garbage";
  fs::create_directories(dir);
  std::ofstream(dir / "owner") << "not a pid\n";
  EXPECT_TRUE(LocalPostgres::remove_stale(tmp_).empty());
  EXPECT_TRUE(fs::exists(dir));
  EXPECT_TRUE(LocalPostgres::remove_stale(tmp_ / "no-such-dir").empty());
}

}  // namespace
}  // namespace racerig::service
