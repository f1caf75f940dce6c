// The guest as the host sees it during a run: the console through the oops
// parser and the agent port through the event-line decoder. It tells the
// schedule engine what happened (GuestMonitor::poll) and keeps everything
// for the verdict: the agent's events, the kernel's reports (with the time
// each was first seen), lines that did not decode.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/crash/oops.h"
#include "rig/machine/machine.h"
#include "rig/schedule/engine.h"
#include "rig/verdict/verdict.h"

namespace racerig::run {

class VmMonitor : public schedule::GuestMonitor {
 public:
  using Clock = std::chrono::steady_clock;

  VmMonitor(machine::Machine& vm, const pb::Expectation& expect) : vm_(vm), expect_(expect) {}

  // Drains the VM's console and agent port (never blocks).
  schedule::GuestStatus poll() override;

  bool ready() const { return ready_; }
  // A restored snapshot: the agent said READY before the snapshot was taken.
  void assume_ready() {
    ready_ = true;
    first_event_ms_ = 1;
  }
  bool done() const { return done_; }
  bool fatal() const { return fatal_; }
  bool agent_started() const { return first_event_ms_ >= 0; }
  bool oops_complete() const { return parser_.first_report_complete(); }
  // An oops is being printed: its end has not reached the console yet.
  bool oops_in_progress() const { return parser_.in_report(); }
  // The report the verdict is about (see verdict_report), with the time its
  // first line was seen.
  std::optional<std::pair<pb::Oops, Clock::time_point>> verdict_oops() const {
    auto all = parser_.reports();
    auto i = verdict::verdict_report(expect_, all);
    if (!i) return std::nullopt;
    return std::pair{all[*i], seen_at(*i)};
  }
  // A complete report worth stopping for: one that matches, or one that is
  // not a WARNING (the kernel is going down). After a WARNING the kernel
  // goes on, and so does the run.
  bool decisive_oops_complete() const {
    for (const auto& r : parser_.complete_reports())
      if (verdict::ends_schedule(expect_, r)) return true;
    return false;
  }
  std::optional<pb::Oops> oops() const { return parser_.first_report(); }
  const std::vector<pb::AgentEvent>& events() const { return events_; }
  // Agent lines that carried the prefix but did not decode (quoted).
  const std::vector<std::string>& unparsable() const { return unparsable_; }

 private:
  std::vector<std::string> unparsable_;
  machine::Machine& vm_;
  crash::ConsoleParser parser_;
  schedule::GuestStatus status_;
  std::vector<pb::AgentEvent> events_;
  bool ready_ = false, done_ = false, fatal_ = false;
  double first_event_ms_ = -1;
  const pb::Expectation& expect_;
  std::vector<Clock::time_point> seen_at_;
  Clock::time_point seen_at(size_t i) const { return i < seen_at_.size() ? seen_at_[i] : Clock::now(); }
};

}  // namespace racerig::run
