// Line framing of the serial consoles and the agent port: a byte stream cut
// into lines, with a cap so that a peer that never sends a newline cannot
// grow memory without bound.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace racerig::machine {

// Splits a byte stream into lines: "\n" ends a line, "\r" is dropped. A line
// longer than kMaxLine is cut there.
class LineBuffer {
 public:
  static constexpr size_t kMaxLine = 64 * 1024;
  void feed(std::string_view bytes);
  std::vector<std::string> take_lines();
  const std::string& partial() const { return partial_; }
  // Forgets everything, the unfinished line included.
  void clear() {
    partial_.clear();
    lines_.clear();
  }

 private:
  std::string partial_;
  std::vector<std::string> lines_;
};

}  // namespace racerig::machine
