#include "rig/base/text.h"

#include <gtest/gtest.h>

namespace racerig {
namespace {

TEST(LastLines, NothingToTakeGivesEmpty) {
  // An empty console (QEMU killed before the kernel spoke) once threw
  // std::out_of_range from the console tail of a report.
  EXPECT_EQ(last_lines("", 15), "");
  EXPECT_EQ(last_lines("\n\n\r\n", 15), "");
  EXPECT_EQ(last_lines("a\nb\n", 0), "");
}

TEST(LastLines, KeepsTheLastNonEmptyLines) {
  EXPECT_EQ(last_lines("a\nb\nc\n", 2), "b\nc");
  EXPECT_EQ(last_lines("a\nb\nc", 2), "b\nc");
  EXPECT_EQ(last_lines("a\r\n\r\nb\r\n", 5), "a\nb");
  EXPECT_EQ(last_lines("\n", 1), "");
  EXPECT_EQ(last_lines("only", 3), "only");
}

}  // namespace
}  // namespace racerig
