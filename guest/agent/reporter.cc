// Reporter: event lines to the host port.
#include "guest/agent/reporter.h"

#include <unistd.h>

#include <cerrno>

#include "guest/agent/event_line.h"

namespace racerig::agent {

uint64_t Reporter::elapsed_us() const {
  auto d = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_).count();
  return d < 0 ? 0 : static_cast<uint64_t>(d);
}

bool Reporter::emit(pb::AgentEvent event) const {
  event.set_elapsed_us(elapsed_us());
  const std::string line = format_event_line(event);
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool Reporter::simple(pb::AgentEvent::Kind kind, const std::string& message) const {
  pb::AgentEvent e;
  e.set_kind(kind);
  e.set_message(message);
  return emit(std::move(e));
}

}  // namespace racerig::agent
