// Progress of a kernel build: the stages, make's steps ("CC x.o", "LD",
// "AR") against an estimate of the total, and, for logs that are not a
// terminal, a line at most every interval with the steps done, the
// estimated total, the time elapsed and an ETA.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace racerig::kbuild {

struct BuildProgress {
  int done = 0;       // make steps so far
  int estimated = 0;  // estimated steps of the whole build (0: unknown)
  double elapsed_s = 0;
};

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // A step of the build ("extracting", "waiting for pid 123 (building buggy)").
  virtual void stage(const std::string& variant, const std::string& what) = 0;
  // One of make's steps; `line` is make's (e.g. "  CC      fs/xfs/xfs_file.o").
  virtual void compile(const std::string& variant, const std::string& line, const BuildProgress& progress) = 0;
};

// True for make's step lines that count towards progress.
bool is_make_step(const std::string& line);

// Rate-limited progress lines for non-terminals.
class ProgressLines {
 public:
  explicit ProgressLines(std::chrono::seconds interval = std::chrono::seconds(12)) : interval_(interval) {}
  // The line to print now, if `interval` passed since the last one (the
  // first comes one interval after the build started).
  std::optional<std::string> update(const std::string& variant, const BuildProgress& p);

 private:
  std::chrono::seconds interval_;
  double last_s_ = 0;
};

// "Buggy: 1234 of ~2900 steps (43%), 3m12s elapsed, ETA 4m20s"; the ETA
// assumes the rate so far; an unknown or exceeded estimate says so.
std::string format_progress(const std::string& variant, const BuildProgress& p);

// "4m20s", "12s", "1h02m".
std::string format_duration(double seconds);

}  // namespace racerig::kbuild
