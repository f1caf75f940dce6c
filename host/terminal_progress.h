// Kernel build progress on a terminal: one updating status line on a tty,
// plain stage lines otherwise (stderr). The base of the commands' job
// observers.
#pragma once

#include <string>

#include "rig/jobs/job_env.h"

namespace racerig::host {

class TerminalProgress : public jobs::JobObserver {
 public:
  TerminalProgress();
  ~TerminalProgress() override;
  void stage(const std::string& variant, const std::string& what) override;
  void compile(const std::string& variant, const std::string& line) override;
  // Compile steps seen so far.
  int compiled() const { return count_; }

 protected:
  // Ends the status line before other output.
  void clear();

 private:
  bool tty_;
  bool dirty_ = false;
  int count_ = 0;
};

}  // namespace racerig::host
