// libFuzzer target: the agent's event lines as the host reads them from the
// agent port (guest/agent's event_line, the module both ends share). Each
// line of the input goes through decode_event_line; an event that decodes
// is formatted again and must decode to the same event (the agent and the
// host agree on the format whatever the strings hold).
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "guest/agent/event_line.h"

namespace agent = racerig::agent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view port(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (start <= port.size()) {
    size_t end = port.find('\n', start);
    if (end == std::string_view::npos) end = port.size();
    std::string_view line = port.substr(start, end - start);
    auto decoded = agent::decode_event_line(line);
    (void)agent::sanitize_text(line);
    if (decoded.ok() && decoded->has_value()) {
      const racerig::pb::AgentEvent& event = **decoded;
      std::string again = agent::format_event_line(event);
      auto redecoded = agent::decode_event_line(again);
      // Strings are sanitized on the way out, so compare the sanitized
      // event's own round trip rather than the raw input.
      if (!redecoded.ok() || !redecoded->has_value()) __builtin_trap();
      std::string third = agent::format_event_line(**redecoded);
      if (third != again) __builtin_trap();
    }
    start = end + 1;
  }
  return 0;
}
