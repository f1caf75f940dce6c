// Kernel build progress on a terminal (see terminal_progress.h).
#include "host/terminal_progress.h"

#include <unistd.h>

#include <cstdio>

namespace racerig::host {

TerminalProgress::TerminalProgress() : tty_(isatty(STDERR_FILENO) != 0) {}

TerminalProgress::~TerminalProgress() { clear(); }

void TerminalProgress::stage(const std::string& variant, const std::string& what) {
  clear();
  std::fprintf(stderr, "racerig: kernel %s: %s\n", variant.c_str(), what.c_str());
}

void TerminalProgress::compile(const std::string& variant, const std::string& line) {
  ++count_;
  if (!tty_) return;
  size_t first = line.find_first_not_of(' ');
  std::string text = first == std::string::npos ? "" : line.substr(first);
  std::fprintf(stderr, "\r\033[K  [%s] %5d  %.60s", variant.c_str(), count_, text.c_str());
  std::fflush(stderr);
  dirty_ = true;
}

void TerminalProgress::clear() {
  if (dirty_) std::fprintf(stderr, "\r\033[K");
  dirty_ = false;
}

}  // namespace racerig::host
