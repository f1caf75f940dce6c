// LocalPostgres::remove_stale: what a killed test or bench left is removed,
// a live process's cluster and a directory of unknown origin are not. No
// server is needed: the stand-in directories have no data directory.
#include "rig/service/local_postgres.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
  // A racerig-pg-NAME directory owned (owner.pid) by `pid`; none when 0.
  fs::path cluster(const std::string& name, pid_t pid) {
    const fs::path dir = tmp_ / ("racerig-pg-" + name);
    fs::create_directories(dir);
    std::ofstream(dir / "server.log") << "a log\n";
    if (pid != 0) std::ofstream(dir / "owner.pid") << pid << "\n";
    return dir;
  }
  fs::path tmp_;
};

TEST_F(RemoveStale, ADeadOwnersDirectoryGoesALiveOnesAndAnUnknownOneStay) {
  const fs::path dead = cluster("dead", dead_pid());
  const fs::path live = cluster("live", ::getpid());
  const fs::path unknown = cluster("unknown", 0);
  const fs::path other = tmp_ / "racerig-other-dir";
  fs::create_directories(other);
  std::ofstream(other / "owner.pid") << dead_pid() << "\n";

  const std::vector<fs::path> removed = LocalPostgres::remove_stale(tmp_);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], dead);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live)) << "its owner runs";
  EXPECT_TRUE(fs::exists(unknown)) << "no owner.pid: not known to be ours";
  EXPECT_TRUE(fs::exists(other)) << "not a cluster's directory";
}

TEST_F(RemoveStale, AZombieOwnerIsDead) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  siginfo_t info{};
  // Wait until it has exited, without reaping it: a zombie.
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
  const fs::path dir = cluster("zombie", pid);
  const std::vector<fs::path> removed = LocalPostgres::remove_stale(tmp_);
  ::waitpid(pid, nullptr, 0);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], dir);
}

TEST_F(RemoveStale, GarbageInTheOwnerFileIsLeftAlone) {
  const fs::path dir = tmp_ / "racerig-pg-garbage";
  fs::create_directories(dir);
  std::ofstream(dir / "owner.pid") << "not a pid\n";
  EXPECT_TRUE(LocalPostgres::remove_stale(tmp_).empty());
  EXPECT_TRUE(fs::exists(dir));
  EXPECT_TRUE(LocalPostgres::remove_stale(tmp_ / "no-such-dir").empty());
}

}  // namespace
}  // namespace racerig::service
