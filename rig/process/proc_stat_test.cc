// Tests of /proc/PID/stat reading (proc_stat.h).
#include "rig/process/proc_stat.h"

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

}  // namespace
}  // namespace racerig::process
