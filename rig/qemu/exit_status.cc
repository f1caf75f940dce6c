// How QEMU ended (see exit_status.h).
#include "rig/qemu/exit_status.h"

#include <sys/wait.h>

#include <cstring>
#include <vector>

namespace racerig::vm {

namespace {

// The last `n` non-empty lines of `text`, joined with newlines.
std::string tail(std::string_view text, int n) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  std::string out;
  for (size_t i = lines.size() > static_cast<size_t>(n) ? lines.size() - static_cast<size_t>(n) : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : "\n") + std::string(lines[i]);
  return out;
}

}  // namespace

std::string describe_qemu_exit(int wait_status, std::string_view stderr_text, int tail_lines) {
  std::string out;
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    const char* abbrev = ::sigabbrev_np(sig);
    out = "QEMU was killed by signal " + std::to_string(sig) +
          (abbrev != nullptr ? " (SIG" + std::string(abbrev) + ")" : std::string());
  } else if (WIFEXITED(wait_status)) {
    out = "QEMU exited with status " + std::to_string(WEXITSTATUS(wait_status));
  } else {
    out = "QEMU stopped (wait status " + std::to_string(wait_status) + ")";
  }
  const std::string end = tail(stderr_text, tail_lines);
  return end.empty() ? out + "; its stderr is empty" : out + "; its stderr ends:\n" + end;
}

}  // namespace racerig::vm
