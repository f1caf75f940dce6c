// Agent events rendered for humans (the line format's tests are in
// guest/agent/event_line_test.cc).
#include <gtest/gtest.h>

#include "rig/run/agent_events.h"

namespace racerig::run {
namespace {

TEST(AgentEventsTest, DescribesAnEventOnOneLine) {
  pb::AgentEvent e;
  e.set_kind(pb::AgentEvent::OP_OK);
  e.set_actor("faulter");
  e.set_op("mmap_write");
  e.set_path("/mnt/foo");
  EXPECT_EQ(describe_agent_event(e), "[faulter] OP_OK mmap_write /mnt/foo");
  e.clear_actor();
  e.set_err_no(5);
  e.set_message("boom");
  EXPECT_EQ(describe_agent_event(e), "[agent] OP_OK mmap_write /mnt/foo errno 5: boom");
}

}  // namespace
}  // namespace racerig::run
