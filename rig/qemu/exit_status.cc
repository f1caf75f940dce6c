// How QEMU ended (see exit_status.h).
#include "rig/qemu/exit_status.h"

#include "rig/qemu/bwrap_status.h"

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

// "was killed by signal 9 (SIGKILL)".
std::string killed_by(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return "was killed by signal " + std::to_string(sig) +
         (abbrev != nullptr ? " (SIG" + std::string(abbrev) + ")" : std::string());
}

// `who` and how it ended from a wait status.
std::string ended(const std::string& who, int wait_status) {
  if (WIFSIGNALED(wait_status)) return who + " " + killed_by(WTERMSIG(wait_status));
  if (WIFEXITED(wait_status)) return who + " exited with status " + std::to_string(WEXITSTATUS(wait_status));
  return who + " stopped (wait status " + std::to_string(wait_status) + ")";
}

std::string with_stderr(const std::string& out, std::string_view stderr_text, int tail_lines) {
  const std::string end = tail(stderr_text, tail_lines);
  return end.empty() ? out + "; its stderr is empty" : out + "; its stderr ends:\n" + end;
}

}  // namespace

std::string describe_qemu_exit(int wait_status, std::string_view stderr_text, int tail_lines) {
  return with_stderr(ended("QEMU", wait_status), stderr_text, tail_lines);
}

bool says_qemu_was_killed(std::string_view text) { return text.find("QEMU was killed by signal ") != std::string_view::npos; }

std::string describe_sandboxed_qemu_exit(std::optional<int> qemu_exit_code, int bwrap_wait_status,
                                         std::string_view stderr_text, int tail_lines) {
  if (!qemu_exit_code)
    return with_stderr(ended("QEMU's sandbox (bubblewrap)", bwrap_wait_status) + " without reporting QEMU's end",
                       stderr_text, tail_lines);
  const ShellExit e = decode_shell_exit(*qemu_exit_code);
  return with_stderr(e.signalled ? "QEMU " + killed_by(e.value) : "QEMU exited with status " + std::to_string(e.value),
                     stderr_text, tail_lines);
}

}  // namespace racerig::vm
