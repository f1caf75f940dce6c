// Agent status lines: parsing survives noise and garbage.
#include <gtest/gtest.h>

#include "rig/run/agent_events.h"

namespace racerig::run {
namespace {

TEST(AgentEventsTest, ParsesALineWithNoiseAround) {
  auto e = parse_agent_line("\x1b[0m@racerig kind: OP_OK actor: \"faulter\" op: \"mmap_write\" path: \"/mnt/foo\"\r");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind(), pb::AgentEvent::OP_OK);
  EXPECT_EQ(e->actor(), "faulter");
  EXPECT_EQ(describe_agent_event(*e), "[faulter] OP_OK mmap_write /mnt/foo");
}

TEST(AgentEventsTest, IgnoresGarbage) {
  EXPECT_FALSE(parse_agent_line("random console text").has_value());
  EXPECT_FALSE(parse_agent_line("@racerig kind: NOT_A_KIND").has_value());
  EXPECT_FALSE(parse_agent_line("@racerig {{{{").has_value());
  EXPECT_FALSE(parse_agent_line(std::string("@racerig \xff\xfe\x00", 12)).has_value());
}

}  // namespace
}  // namespace racerig::run
