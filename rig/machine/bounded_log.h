// What racerig keeps of a guest-written stream (the console, the agent port):
// an untrusted kernel may print without end, so only the first and the last
// bytes are kept (kDefaultHead and kDefaultTail), with a line saying how many
// bytes between them were cut.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace racerig::machine {

class BoundedLog {
 public:
  static constexpr size_t kDefaultHead = size_t{1} << 20;  // 1 MiB
  static constexpr size_t kDefaultTail = size_t{1} << 20;  // 1 MiB

  explicit BoundedLog(size_t head = kDefaultHead, size_t tail = kDefaultTail) : head_cap_(head), tail_cap_(tail) {}

  // Appends `bytes`; memory stays within head + 2 * tail bytes plus text()'s copy.
  void append(std::string_view bytes);
  // Every byte ever appended (what was cut included): a mark for since().
  uint64_t total() const { return total_; }
  // The bytes between the head and the tail that are no longer kept.
  uint64_t cut() const { return visible_tail_start() - head_.size(); }
  // The kept text: the head, then "[racerig: N bytes cut]" on a line of its
  // own when anything was cut, then the tail. Valid until the next append().
  const std::string& text() const;
  // What was appended after the mark `from` (a total() taken earlier), with
  // the same cut line where part of it is no longer kept.
  std::string since(uint64_t from) const;
  bool empty() const { return total_ == 0; }
  void clear();

  // The line that stands for `n` cut bytes ("[racerig: N bytes cut]\n").
  static std::string cut_line(uint64_t n);

 private:
  uint64_t visible_tail_start() const { return total_ - visible_tail().size(); }
  std::string_view visible_tail() const;

  size_t head_cap_, tail_cap_;
  std::string head_;  // the first head_cap_ bytes
  std::string tail_;  // the bytes after them, at most 2 * tail_cap_ (the last tail_cap_ are shown)
  uint64_t total_ = 0;
  mutable std::string text_;
  mutable bool text_stale_ = false;
};

}  // namespace racerig::machine
