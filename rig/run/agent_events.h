// Parsing the agent's status lines ("@racerig " + AgentEvent in text format).
#pragma once

#include <optional>
#include <string_view>

#include "proto/racerig.pb.h"

namespace racerig::run {

// Returns the event on a line, or nullopt for a line that is not an agent
// event (serial noise, partial lines). Never fails harder than that.
std::optional<pb::AgentEvent> parse_agent_line(std::string_view line);

// A one-line human rendering: "[faulter] mmap_write /mnt/foo: ok".
std::string describe_agent_event(const pb::AgentEvent& e);

}  // namespace racerig::run
