// The head-and-tail log of a guest-written stream, without QEMU.
#include "rig/machine/bounded_log.h"

#include <gtest/gtest.h>

namespace racerig::machine {
namespace {

TEST(BoundedLog, KeepsEverythingUnderItsCaps) {
  BoundedLog log(8, 8);
  log.append("abcd");
  log.append("efgh");
  log.append("ijkl");
  EXPECT_EQ(log.text(), "abcdefghijkl");
  EXPECT_EQ(log.cut(), 0u);
  EXPECT_EQ(log.total(), 12u);
  EXPECT_EQ(log.since(6), "ghijkl");
}

TEST(BoundedLog, KeepsHeadAndTailAndSaysWhatWasCut) {
  BoundedLog log(4, 4);
  log.append("head");
  for (int i = 0; i < 100; ++i) log.append("0123456789");
  log.append("TAIL");
  EXPECT_EQ(log.total(), 4u + 1000u + 4u);
  EXPECT_EQ(log.cut(), 1000u);
  EXPECT_EQ(log.text(), "head\n[racerig: 1000 bytes cut]\nTAIL");
}

TEST(BoundedLog, OneHugeAppendIsCutToo) {
  BoundedLog log(3, 5);
  log.append("abc\n" + std::string(100000, 'x') + "12345");
  EXPECT_EQ(log.text(), "abc\n[racerig: 100001 bytes cut]\n12345");
}

TEST(BoundedLog, MemoryStaysBounded) {
  BoundedLog log(1024, 1024);
  const std::string line(100, 'y');
  for (int i = 0; i < 100000; ++i) log.append(line);  // 10 MB through it
  EXPECT_LE(log.text().size(), 1024u + 1024u + BoundedLog::cut_line(log.cut()).size() + 1);
  EXPECT_EQ(log.total(), 10000000u);
  EXPECT_EQ(log.cut(), 10000000u - 2048u);
}

TEST(BoundedLog, SinceAMarkInTheHeadOrTheCutPart) {
  BoundedLog log(4, 4);
  log.append("abcdefgh");  // head "abcd", tail "efgh"
  const uint64_t in_head = 2, in_tail = log.total() - 2;
  log.append(std::string(50, '-') + "WXYZ");
  EXPECT_EQ(log.since(in_head), "cd\n[racerig: 54 bytes cut]\nWXYZ");
  EXPECT_EQ(log.since(in_tail), "[racerig: 52 bytes cut]\nWXYZ");
  EXPECT_EQ(log.since(log.total() - 1), "Z");
  EXPECT_EQ(log.since(log.total()), "");
}

TEST(BoundedLog, ClearStartsOver) {
  BoundedLog log(2, 2);
  log.append("abcdefg");
  log.clear();
  log.append("hi");
  EXPECT_EQ(log.text(), "hi");
  EXPECT_EQ(log.cut(), 0u);
}

}  // namespace
}  // namespace racerig::machine
