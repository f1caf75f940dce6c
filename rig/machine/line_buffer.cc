// Line framing (see line_buffer.h).
#include "rig/machine/line_buffer.h"

namespace racerig::machine {

void LineBuffer::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (c == '\r') continue;
    if (c == '\n') {
      lines_.push_back(std::move(partial_));
      partial_.clear();
      continue;
    }
    partial_ += c;
    if (partial_.size() >= kMaxLine) {
      lines_.push_back(std::move(partial_));
      partial_.clear();
    }
  }
}

std::vector<std::string> LineBuffer::take_lines() {
  std::vector<std::string> out;
  out.swap(lines_);
  return out;
}

}  // namespace racerig::machine
