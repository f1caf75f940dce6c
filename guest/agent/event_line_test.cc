// Event lines: one line each, round trip through the text format, noise.
#include <gtest/gtest.h>

#include "guest/agent/event_line.h"

namespace racerig::guest {
namespace {

TEST(EventLineTest, OneLineThatRoundTrips) {
  pb::AgentEvent e;
  e.set_kind(pb::AgentEvent::OP_FAILED);
  e.set_actor("faulter");
  e.set_op_index(2);
  e.set_op("mmap_write");
  e.set_path("/mnt/foo");
  e.set_err_no(14);
  e.set_message("storing to the mapping: SIGBUS at 0x7f00");
  e.set_statx_attributes(0x200000);
  e.set_statx_dax(true);
  e.set_seed(12345678901234567890ull);
  std::string line = format_event_line(e);
  ASSERT_EQ(line.rfind("@racerig ", 0), 0u);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto back = parse_event_line(line);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->SerializeAsString(), e.SerializeAsString());
}

TEST(EventLineTest, ToolOutputStaysOnOneLine) {
  pb::AgentEvent e;
  e.set_kind(pb::AgentEvent::FATAL);
  e.set_message("mkfs.xfs failed:\nline two\ttab \"quoted\" \\ back\x01\xff\n");
  std::string line = format_event_line(e);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto back = parse_event_line(line);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->message(), "mkfs.xfs failed: | line two tab \"quoted\" \\ back ?");
}

TEST(EventLineTest, ParsesAmidNoiseAndRejectsGarbage) {
  auto e = parse_event_line("\x1b[0m@racerig kind: READY message: \"x\"\r\n");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind(), pb::AgentEvent::READY);
  EXPECT_FALSE(parse_event_line("[    1.0] random console text").has_value());
  EXPECT_FALSE(parse_event_line("@racerig kind: NOT_A_KIND").has_value());
  EXPECT_FALSE(parse_event_line("@racerig {{{").has_value());
}

TEST(EventLineTest, SanitizeText) {
  EXPECT_EQ(sanitize_text("a\nb\n"), "a | b");
  EXPECT_EQ(sanitize_text("\x7f\x80z"), " ?z");
  EXPECT_EQ(sanitize_text(""), "");
}

}  // namespace
}  // namespace racerig::guest
