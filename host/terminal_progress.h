// Kernel build progress on stderr: one updating status line on a terminal;
// otherwise stage lines and, at most every 12 s, a line with the steps done,
// the estimate, the time elapsed and an ETA (a CI log never sits silent
// through a build). The base of the commands' job observers.
#pragma once

#include <string>

#include "rig/jobs/job_env.h"
#include "rig/kbuild/progress.h"

namespace racerig::host {

class TerminalProgress : public jobs::JobObserver {
 public:
  TerminalProgress();
  ~TerminalProgress() override;
  void stage(const std::string& variant, const std::string& what) override;
  void compile(const std::string& variant, const std::string& line, const kbuild::BuildProgress& progress) override;
  // Compile steps seen so far.
  int compiled() const { return count_; }

 protected:
  // Ends the status line before other output.
  void clear();

 private:
  bool tty_;
  bool dirty_ = false;
  int count_ = 0;
  kbuild::ProgressLines lines_;
};

}  // namespace racerig::host
