// Event lines: one line each, round trip through the text format, noise.
#include <gtest/gtest.h>

#include "guest/agent/event_line.h"

namespace racerig::agent {
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

// What the host sees: noise is no event, a garbled event line is an error
// that quotes it (never silently dropped).
TEST(EventLineTest, TheHostTellsNoiseFromAGarbledEventLine) {
  auto noise = decode_event_line("[    1.0] random console text");
  ASSERT_TRUE(noise.ok());
  EXPECT_FALSE(noise->has_value());
  auto ok = decode_event_line("\x1b[0m@racerig kind: OP_OK actor: \"faulter\" op: \"mmap_write\"\r");
  ASSERT_TRUE(ok.ok());
  ASSERT_TRUE(ok->has_value());
  EXPECT_EQ((*ok)->actor(), "faulter");
  for (std::string bad : {std::string("@racerig kind: NOT_A_KIND"), std::string("@racerig {{{{"),
                          std::string("@racerig \xff\xfe\x00", 12)}) {
    auto r = decode_event_line(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::kProtocol);
    EXPECT_NE(r.error().message.find("not an AgentEvent: \"@racerig"), std::string::npos) << r.error().message;
  }
  // A formatted line always decodes.
  pb::AgentEvent done;
  done.set_kind(pb::AgentEvent::DONE);
  done.set_actors_started(2);
  done.add_actor_ends()->set_signal(7);
  auto back = decode_event_line(format_event_line(done));
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ((*back)->actor_ends(0).signal(), 7);
}

TEST(EventLineTest, SanitizeText) {
  EXPECT_EQ(sanitize_text("a\nb\n"), "a | b");
  EXPECT_EQ(sanitize_text("\x7f\x80z"), " ?z");
  EXPECT_EQ(sanitize_text(""), "");
}

}  // namespace
}  // namespace racerig::agent
