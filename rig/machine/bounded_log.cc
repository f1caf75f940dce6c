// The head-and-tail log of a guest-written stream (see bounded_log.h).
#include "rig/machine/bounded_log.h"

#include <algorithm>

namespace racerig::machine {

namespace {

// `text` then a cut line for `n` bytes, starting on a line of its own.
void add_cut(std::string& out, uint64_t n) {
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += BoundedLog::cut_line(n);
}

}  // namespace

std::string BoundedLog::cut_line(uint64_t n) { return "[racerig: " + std::to_string(n) + " bytes cut]\n"; }

void BoundedLog::append(std::string_view bytes) {
  if (bytes.empty()) return;
  total_ += bytes.size();
  text_stale_ = true;
  if (head_.size() < head_cap_ && tail_.empty()) {
    const size_t n = std::min(bytes.size(), head_cap_ - head_.size());
    head_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  if (bytes.empty()) return;
  if (bytes.size() >= tail_cap_) {
    tail_.assign(bytes.substr(bytes.size() - tail_cap_));
    return;
  }
  tail_.append(bytes);
  // Trimmed now and then, not on every append: amortised O(1) a byte.
  if (tail_.size() > 2 * tail_cap_) tail_.erase(0, tail_.size() - tail_cap_);
}

std::string_view BoundedLog::visible_tail() const {
  std::string_view t(tail_);
  if (t.size() > tail_cap_) t.remove_prefix(t.size() - tail_cap_);
  return t;
}

const std::string& BoundedLog::text() const {
  if (text_stale_) {
    text_ = since(0);
    text_stale_ = false;
  }
  return text_;
}

std::string BoundedLog::since(uint64_t from) const {
  const std::string_view tail = visible_tail();
  const uint64_t tail_start = total_ - tail.size();
  if (from >= total_) return {};
  if (from >= tail_start) return std::string(tail.substr(from - tail_start));
  std::string out;
  uint64_t gap_from = from;
  if (from < head_.size()) {
    out.assign(head_, from);
    gap_from = head_.size();
  }
  if (tail_start > gap_from) add_cut(out, tail_start - gap_from);
  out.append(tail);
  return out;
}

void BoundedLog::clear() {
  head_.clear();
  tail_.clear();
  total_ = 0;
  text_.clear();
  text_stale_ = false;
}

}  // namespace racerig::machine
