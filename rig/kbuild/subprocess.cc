// Owned child processes (see subprocess.h).
#include "rig/kbuild/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rig/base/scoped_fd.h"
#include "rig/qemu/cancel.h"

namespace racerig::kbuild {

std::string command_text(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

namespace {

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    ::usleep(20000);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace

Result<Exit> run_command(const Command& cmd, Deadline deadline,
                         const std::function<void(const std::string&)>& on_line) {
  if (cmd.argv.empty()) return make_error(ErrorKind::kInternal, "empty command");
  int out_pipe[2], in_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return errno_error("pipe");
  ScopedFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return errno_error("pipe");
  ScopedFd in_r(in_pipe[0]), in_w(in_pipe[1]);
  ScopedFd log;
  if (!cmd.log.empty()) {
    log.reset(::open(cmd.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log.valid()) return errno_error("opening log " + cmd.log.string());
  }
  std::vector<char*> argv;
  for (const auto& a : cmd.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork for " + cmd.argv[0]);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(out_w.get(), 2);
    if (!cmd.cwd.empty() && ::chdir(cmd.cwd.c_str()) != 0) {
      dprintf(2, "racerig: cannot chdir to %s: %s\n", cmd.cwd.c_str(), strerror(errno));
      ::_exit(127);
    }
    ::execvp(argv[0], argv.data());
    dprintf(2, "racerig: cannot run %s: %s\n", argv[0], strerror(errno));
    ::_exit(127);
  }
  out_w.reset();
  in_r.reset();
  if (!cmd.stdin_data.empty()) {
    // Small inputs only (patch texts): written before reading output.
    signal(SIGPIPE, SIG_IGN);
    size_t off = 0;
    while (off < cmd.stdin_data.size()) {
      ssize_t n = ::write(in_w.get(), cmd.stdin_data.data() + off, cmd.stdin_data.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
  }
  in_w.reset();

  Exit result;
  std::string pending;
  char buf[65536];
  while (true) {
    pollfd p[2] = {{out_r.get(), POLLIN, 0}, {vm::cancel_fd(), POLLIN, 0}};
    int r = ::poll(p, p[1].fd >= 0 ? 2 : 1, deadline.poll_timeout_ms());
    if (r < 0 && errno == EINTR && !vm::cancelled()) continue;
    if (vm::cancelled()) {
      kill_and_reap(-pid);
      ::waitpid(pid, nullptr, WNOHANG);
      return make_error(ErrorKind::kInternal, "\"" + command_text(cmd.argv) + "\" cancelled");
    }
    if (r == 0 || deadline.expired()) {
      kill_and_reap(-pid);
      ::waitpid(pid, nullptr, WNOHANG);
      return make_error(ErrorKind::kTimeout, "\"" + command_text(cmd.argv) + "\" did not finish before its deadline");
    }
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (log.valid()) (void)!::write(log.get(), buf, static_cast<size_t>(n));
    result.output.append(buf, static_cast<size_t>(n));
    if (result.output.size() > (2u << 20)) result.output.erase(0, result.output.size() - (1u << 20));
    if (on_line) {
      pending.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        on_line(pending.substr(0, nl));
        pending.erase(0, nl + 1);
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

Result<std::string> run_checked(const Command& cmd, Deadline deadline) {
  RACERIG_ASSIGN(Exit e, run_command(cmd, deadline));
  if (e.code != 0) {
    std::string tail = e.output.size() > 2000 ? e.output.substr(e.output.size() - 2000) : e.output;
    return make_error(ErrorKind::kIo, "\"" + command_text(cmd.argv) + "\" failed (exit " + std::to_string(e.code) +
                                          "): " + tail);
  }
  return e.output;
}

}  // namespace racerig::kbuild
