// Human rendering of the agent's events. The line format itself is
// guest/agent/event_line.h (one module for both ends).
#pragma once

#include <string>

#include "proto/racerig.pb.h"

namespace racerig::run {

// A one-line human rendering: "[faulter] OP_OK mmap_write /mnt/foo", then
// the errno and the message when present ("errno 5: boom").
std::string describe_agent_event(const pb::AgentEvent& e);

}  // namespace racerig::run
