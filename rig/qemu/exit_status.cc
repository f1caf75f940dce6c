// How QEMU ended (see exit_status.h).
#include "rig/qemu/exit_status.h"

#include "rig/base/text.h"
#include "rig/process/bwrap_status.h"

#include <sys/wait.h>

#include <cstring>

namespace racerig::qemu {

namespace {

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
  const std::string end = last_lines(stderr_text, tail_lines > 0 ? static_cast<size_t>(tail_lines) : 0);
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
  const process::ShellExit e = process::decode_shell_exit(*qemu_exit_code);
  return with_stderr(e.signalled ? "QEMU " + killed_by(e.value) : "QEMU exited with status " + std::to_string(e.value),
                     stderr_text, tail_lines);
}

}  // namespace racerig::qemu
