// Console line framing, without QEMU.
#include "rig/machine/line_buffer.h"

#include <gtest/gtest.h>

namespace racerig::machine {
namespace {

TEST(LineBuffer, SplitsAcrossReadsAndDropsCarriageReturns) {
  LineBuffer b;
  b.feed("Linux version 6.1\r\nBUG: kernel NULL po");
  auto first = b.take_lines();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0], "Linux version 6.1");
  b.feed("inter dereference\r\n\r\n");
  auto second = b.take_lines();
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0], "BUG: kernel NULL pointer dereference");
  EXPECT_EQ(second[1], "");
  EXPECT_TRUE(b.take_lines().empty());
}

TEST(LineBuffer, ClearDropsTheUnfinishedLine) {
  LineBuffer b;
  b.feed("[  1.0] half a li");
  b.clear();
  b.feed("BUG: kernel NULL pointer dereference\n");
  auto lines = b.take_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "BUG: kernel NULL pointer dereference");
}

TEST(LineBuffer, CutsEndlessLines) {
  LineBuffer b;
  b.feed(std::string(LineBuffer::kMaxLine + 5, 'x'));
  auto lines = b.take_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].size(), LineBuffer::kMaxLine);
  EXPECT_EQ(b.partial().size(), 5u);
}

}  // namespace
}  // namespace racerig::machine
