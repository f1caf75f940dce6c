// Reporter: writes the agent's events to the host port, one line per write().
#pragma once

#include <chrono>
#include <string>

#include "proto/racerig.pb.h"

namespace racerig::agent {

class Reporter {
 public:
  using Clock = std::chrono::steady_clock;

  // Events go to `fd` (not owned; a forked actor shares it). elapsed_us is
  // counted from `start`.
  Reporter(int fd, Clock::time_point start) : fd_(fd), start_(start) {}

  // Stamps elapsed_us, formats the line and writes it with one write()
  // (the rest again only after a short write). Blocks while the port's
  // buffer is full. Returns false if the port fails (the event is lost).
  bool emit(pb::AgentEvent event) const;

  // Shorthands for an event with just a kind and a message.
  bool info(const std::string& message) const { return simple(pb::AgentEvent::INFO, message); }
  bool fatal(const std::string& message) const { return simple(pb::AgentEvent::FATAL, message); }
  bool simple(pb::AgentEvent::Kind kind, const std::string& message) const;

  int fd() const { return fd_; }
  uint64_t elapsed_us() const;

 private:
  int fd_;
  Clock::time_point start_;
};

}  // namespace racerig::agent
