// Tests of /proc/PID/stat reading (proc_stat.h).
#include "rig/process/proc_stat.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace racerig::process {
namespace {

TEST(ParseStartTicks, CountsFieldsPastACommWithSpacesAndParens) {
  std::string stat = "1234 (a b) c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 12345 67";
  EXPECT_EQ(parse_start_ticks(stat), 987654u);
  EXPECT_EQ(parse_start_ticks(stat + "\n"), 987654u);
}

TEST(ParseStartTicks, CutShortOrGarbledIsNullopt) {
  EXPECT_EQ(parse_start_ticks("1234 (x) S 1 2"), std::nullopt);
  EXPECT_EQ(parse_start_ticks("1234 (x) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98x7 1"), std::nullopt);
  EXPECT_EQ(parse_start_ticks("garbage"), std::nullopt);
  EXPECT_EQ(parse_start_ticks(""), std::nullopt);
}

TEST(StartTicksOf, ThisProcessHasOneAndItStays) {
  auto me = start_ticks_of(::getpid());
  ASSERT_TRUE(me.has_value());
  EXPECT_EQ(start_ticks_of(::getpid()), me);
  EXPECT_EQ(start_ticks_of(0), std::nullopt);
  EXPECT_EQ(start_ticks_of(-1), std::nullopt);
}

TEST(StartTicksOf, AReapedChildHasNone) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(start_ticks_of(child), std::nullopt);
}

TEST(StatField, NamesStateAndGroupPastTheComm) {
  std::string stat = "1234 (a b) c)) S 1 77 1234 0";
  EXPECT_EQ(stat_field(stat, 3), "S");
  EXPECT_EQ(stat_field(stat, 5), "77");
  EXPECT_EQ(stat_field(stat, 9), std::nullopt);
  EXPECT_EQ(stat_field(stat, 2), std::nullopt);
  EXPECT_EQ(stat_field("no paren S 1", 3), std::nullopt);
}

// A group whose leader exits leaves its other members running: they are
// listed until killed and then until they have died (a zombie is not).
TEST(LiveGroupMembers, ListsWhatALeaderLeftBehindUntilItDies) {
  pid_t leader = ::fork();
  ASSERT_GE(leader, 0);
  if (leader == 0) {
    ::setpgid(0, 0);
    if (::fork() == 0) {
      ::pause();
      ::_exit(0);
    }
    ::_exit(0);
  }
  int status = 0;
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(leader), &info, WEXITED | WNOWAIT), 0);
  std::vector<pid_t> left = live_group_members(leader, leader);
  ASSERT_EQ(left.size(), 1u);
  ASSERT_EQ(::kill(-leader, SIGKILL), 0);
  for (int i = 0; i < 500 && !live_group_members(leader, leader).empty(); ++i) ::usleep(10000);
  EXPECT_TRUE(live_group_members(leader, leader).empty());
  ASSERT_EQ(::waitpid(leader, &status, 0), leader);
}

}  // namespace
}  // namespace racerig::process
