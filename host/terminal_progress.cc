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

void TerminalProgress::compile(const std::string& variant, const std::string& line,
                               const kbuild::BuildProgress& p) {
  count_ = p.done;
  if (!tty_) {
    if (auto text = lines_.update(variant, p)) std::fprintf(stderr, "racerig: %s\n", text->c_str());
    return;
  }
  size_t first = line.find_first_not_of(' ');
  std::string text = first == std::string::npos ? "" : line.substr(first);
  std::string eta = p.estimated > p.done && p.done > 0
                        ? " ETA " + kbuild::format_duration(p.elapsed_s * (p.estimated - p.done) / p.done)
                        : "";
  std::fprintf(stderr, "\r\033[K  [%s] %5d/~%d%s  %.50s", variant.c_str(), p.done, p.estimated, eta.c_str(),
               text.c_str());
  std::fflush(stderr);
  dirty_ = true;
}

void TerminalProgress::clear() {
  if (dirty_) std::fprintf(stderr, "\r\033[K");
  dirty_ = false;
}

}  // namespace racerig::host
