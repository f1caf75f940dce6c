// Kernel oops analysis: an incremental parser over console lines that
// recognizes BUG, Oops, general protection fault, WARNING and KASAN reports,
// extracts the headline, a WARN's own message (the refcount_t family's
// "refcount_t: underflow; use-after-free." among them), CPU/PID/Comm, RIP
// and the call trace; a decoder that
// maps RIP and frames to file:line as scripts/decode_stacktrace.sh does; and
// a human rendering.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/racerig.pb.h"

namespace racerig::dwarf {
class Symbols;
}

namespace racerig::crash {

class ConsoleParser {
 public:
  // Feeds one console line (printk timestamps and \r are stripped here).
  // What x86 prints between "cut here" and a report's headline (a WARN's
  // message) becomes the report's `message` and starts its text.
  void feed_line(std::string_view line);
  // The first report seen, as far as it got.
  std::optional<pb::Oops> first_report() const;
  // True once the first report's end ("---[ end trace ... ]---", or a
  // "Kernel panic" line) was seen.
  bool first_report_complete() const { return !done_.empty(); }
  // A report has started and its end has not been seen yet.
  bool in_report() const { return active_; }
  // Every distinct report so far (a WARNING does not stop the kernel; more
  // may follow), the last one possibly still incomplete. A report whose
  // headline and message were seen before only counts as a repeat. At most kMaxReports.
  std::vector<pb::Oops> reports() const;
  // The complete ones.
  const std::vector<pb::Oops>& complete_reports() const { return done_; }
  static constexpr size_t kMaxReports = 16;
  // The marker printed before a WARN's message and before BUG()'s report.
  static constexpr std::string_view kCutHere = "------------[ cut here ]------------";

 private:
  // Lines between "cut here" and a headline are the report's message (a
  // WARN's format text: "refcount_t: underflow; use-after-free."); more
  // than this and they were something else.
  static constexpr int kMaxMessageLines = 8;
  static constexpr size_t kMaxMessageBytes = 2048;
  bool after_cut_ = false;
  int message_lines_ = 0;
  std::string message_;
  bool active_ = false;
  bool in_trace_ = false;
  pb::Oops report_;
  std::vector<pb::Oops> done_;
};

// Parses "func+0x48/0x1e0" (optionally "? " first and " [module]" after).
bool parse_frame(std::string_view text, pb::Frame* frame);
// Strips "[   12.345678] " and trailing "\r".
std::string_view strip_console_prefix(std::string_view line);

// Fills address/file/line/inlined_from of RIP and every frame. Return
// addresses in the trace are looked up at address-1 (the call), RIP as is.
void decode(pb::Oops& oops, const dwarf::Symbols& syms);

// "BUG: ...\n  RIP: iomap_page_mkwrite+0x48/0x1e0 (fs/iomap/buffered-io.c:1017)\n  Call trace:\n ..."
std::string render(const pb::Oops& oops);

}  // namespace racerig::crash
