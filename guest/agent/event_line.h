// The agent's wire format to the host: one line per event, "@racerig " + the
// AgentEvent in protobuf text format on a single line + "\n".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proto/racerig.pb.h"

namespace racerig::guest {

inline constexpr std::string_view kEventPrefix = "@racerig ";

// Makes `text` safe to carry in an event string: newlines become " | ",
// other control bytes spaces, bytes >= 0x80 '?' (so the line stays one line
// of ASCII whatever a tool printed).
std::string sanitize_text(std::string_view text);

// "@racerig kind: OP_OK actor: \"a\" ...\n". Strings in `event` are sanitized
// first; the result never contains a newline except the final one.
std::string format_event_line(const pb::AgentEvent& event);

// The inverse, for tests and tools: nullopt for a line without the prefix or
// with a body that is not an AgentEvent. Never fails harder than that.
std::optional<pb::AgentEvent> parse_event_line(std::string_view line);

}  // namespace racerig::guest
