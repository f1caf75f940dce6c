// The agent's wire format to the host: one line per event, "@racerig " + the
// AgentEvent in protobuf text format on a single line + "\n". This is the
// one module for that format: the agent formats with it and the host
// (rig/run) decodes with it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"

namespace racerig::agent {

inline constexpr std::string_view kEventPrefix = "@racerig ";

// Makes `text` safe to carry in an event string: newlines become " | ",
// other control bytes spaces, bytes >= 0x80 '?' (so the line stays one line
// of ASCII whatever a tool printed).
std::string sanitize_text(std::string_view text);

// "@racerig kind: OP_OK actor: \"a\" ...\n". Strings in `event` are sanitized
// first; the result never contains a newline except the final one.
std::string format_event_line(const pb::AgentEvent& event);

// The inverse, as the host reads the agent port: nullopt for a line that is
// not an event line (no prefix: serial noise, console text); the event; or,
// for a line with the prefix whose body is not an AgentEvent, a kProtocol
// error that quotes the line. The prefix may come after noise on the line;
// a trailing "\r\n" is ignored.
Result<std::optional<pb::AgentEvent>> decode_event_line(std::string_view line);

// decode_event_line without the distinction: nullopt for anything that is
// not a well-formed event line (for tests and tools).
std::optional<pb::AgentEvent> parse_event_line(std::string_view line);

}  // namespace racerig::agent
