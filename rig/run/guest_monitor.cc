// VmMonitor (see guest_monitor.h).
#include "rig/run/guest_monitor.h"

#include "guest/agent/event_line.h"
#include "rig/verdict/verdict.h"

namespace racerig::run {

schedule::GuestStatus VmMonitor::poll() {
  vm_.drain_events();
  for (const std::string& line : vm_.take_new_console_lines()) parser_.feed_line(line);
  for (const std::string& line : vm_.take_new_agent_lines()) {
    auto decoded = agent::decode_event_line(line);
    if (!decoded.ok()) {
      unparsable_.push_back(decoded.error().message);
      continue;
    }
    std::optional<pb::AgentEvent> ev = std::move(*decoded);
    if (!ev) continue;
    switch (ev->kind()) {
      case pb::AgentEvent::READY:
        ready_ = true;
        break;
      case pb::AgentEvent::ACTOR_DONE:
        status_.actors_done.insert(ev->actor());
        break;
      case pb::AgentEvent::DONE:
        done_ = true;
        status_.agent_finished = true;
        status_.agent_note = "DONE";
        break;
      case pb::AgentEvent::FATAL:
        fatal_ = true;
        status_.agent_finished = true;
        status_.agent_note = "FATAL: " + ev->message();
        break;
      default:
        break;
    }
    if (first_event_ms_ < 0) first_event_ms_ = 1;  // marks that the agent started
    events_.push_back(std::move(*ev));
  }
  if (vm_.exited() && !status_.agent_finished) {
    status_.agent_finished = true;
    const std::string how = vm_.exit_text();
    status_.agent_note = how.empty() ? "QEMU exited" : how;
  }
  // The schedule ends on a report that matches or one that is not a
  // WARNING (the kernel is going down); after an unexpected WARNING the
  // kernel goes on, and so does the schedule.
  for (const auto& r : parser_.reports()) {
    if (verdict::ends_schedule(expect_, r)) {
      status_.oops = true;
      status_.oops_headline = r.headline();
      break;
    }
  }
  while (seen_at_.size() < parser_.reports().size()) seen_at_.push_back(Clock::now());
  return status_;
}

}  // namespace racerig::run
