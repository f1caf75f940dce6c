// Deadline: an absolute point on the monotonic clock. Every wait in racerig
// takes one.
#pragma once

#include <algorithm>
#include <chrono>

namespace racerig {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  static Deadline after(std::chrono::milliseconds ms) { return Deadline(Clock::now() + ms); }
  static Deadline after_seconds(double s) {
    return Deadline(Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)));
  }
  explicit Deadline(Clock::time_point at) : at_(at) {}

  bool expired() const { return Clock::now() >= at_; }
  // Milliseconds left, clamped to [0, INT32_MAX]: suitable for poll().
  int poll_timeout_ms() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now()).count();
    // Round up so that a poll never returns just before the deadline.
    return static_cast<int>(std::clamp<long long>(left + 1, 0, 0x7fffffff));
  }
  Clock::time_point at() const { return at_; }
  Deadline earlier(const Deadline& other) const { return Deadline(std::min(at_, other.at_)); }

 private:
  Clock::time_point at_;
};

}  // namespace racerig
