// Child processes (see process.h).
#include "rig/process/process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rig/process/cancel.h"
#include "rig/process/proc_stat.h"

extern char** environ;

namespace racerig::process {

namespace {

// What the child reports through the exec pipe when it cannot exec.
struct ChildFailure {
  int stage;  // index into kStages
  int err;
};
constexpr const char* kStages[] = {"switching to the unprivileged user", "changing directory", "executing",
                                   "setting up its file descriptors"};

[[noreturn]] void child_fail(int pipe_fd, int stage) {
  ChildFailure f{stage, errno};
  ssize_t n = ::write(pipe_fd, &f, sizeof f);
  (void)n;
  ::_exit(127);
}

// execvpe without allocating: PATH search over a prepared list.
void exec_search(const std::vector<std::string>& candidates, char* const* argv, char* const* envp) {
  // As execvp: a directory we may not search is skipped (EACCES is kept
  // for the error), other failures end the search.
  bool denied = false;
  for (const std::string& c : candidates) {
    ::execve(c.c_str(), argv, envp);
    if (errno == EACCES) denied = true;
    else if (errno != ENOENT && errno != ENOTDIR) return;
  }
  errno = denied ? EACCES : ENOENT;
}

std::vector<std::string> exec_candidates(const std::string& name) {
  if (name.find('/') != std::string::npos) return {name};
  const char* path = std::getenv("PATH");
  std::string p = path != nullptr && *path != '\0' ? path : "/usr/local/bin:/usr/bin:/bin";
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    out.push_back((dir.empty() ? "." : dir) + "/" + name);
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string command_text(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

Result<Child> Child::spawn(const Spec& spec) {
  if (spec.argv.empty()) return make_error(ErrorKind::kInternal, "spawning an empty command");
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (spec.env) {
    for (const auto& e : *spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  char* const* env = spec.env ? envp.data() : environ;
  const std::vector<std::string> candidates = exec_candidates(spec.argv[0]);
  const std::string cwd = spec.cwd.string();

  Child child;
  ScopedFd out_w, in_child;
  if (spec.output_fd < 0) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe for " + spec.argv[0]);
    child.output_.reset(p[0]);
    out_w.reset(p[1]);
  }
  if (!spec.stdin_data.empty()) {
    // A socket, not a pipe: writes use MSG_NOSIGNAL, so a child that exits
    // without reading its input cannot kill us with SIGPIPE.
    int s[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) != 0) return errno_error("socketpair for stdin");
    child.stdin_.reset(s[0]);
    in_child.reset(s[1]);
    (void)::shutdown(s[0], SHUT_RD);
    (void)::shutdown(s[1], SHUT_WR);
  } else {
    in_child.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!in_child.valid()) return errno_error("opening /dev/null");
  }
  const int out_fd = spec.output_fd >= 0 ? spec.output_fd : out_w.get();
  int ep[2];
  if (::pipe2(ep, O_CLOEXEC) != 0) return errno_error("pipe");
  ScopedFd exec_r(ep[0]), exec_w(ep[1]);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork for " + spec.argv[0]);
  if (pid == 0) {
    // A session of its own: its own process group (killed as a whole), and
    // no controlling terminal (no TIOCSTI into the user's shell).
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGQUIT, SIGHUP, SIGCHLD}) ::signal(sig, SIG_DFL);
    if (::dup2(in_child.get(), 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0)
      child_fail(exec_w.get(), 3);
    for (int fd : spec.keep_fds)
      if (::fcntl(fd, F_SETFD, 0) != 0) child_fail(exec_w.get(), 3);
    if (spec.identity) {
      const Identity& id = *spec.identity;
      if (::setgroups(id.groups.size(), id.groups.data()) != 0 || ::setresgid(id.gid, id.gid, id.gid) != 0 ||
          ::setresuid(id.uid, id.uid, id.uid) != 0)
        child_fail(exec_w.get(), 0);
    }
    // After the credential change, which clears it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) child_fail(exec_w.get(), 1);
    exec_search(candidates, argv.data(), env);
    child_fail(exec_w.get(), 2);
  }
  child.pid_ = pid;
  exec_w.reset();
  out_w.reset();
  in_child.reset();
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(exec_r.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    child.reap_blocking();
    std::string where = failure.stage == 1 ? " in " + cwd : "";
    return make_error(failure.stage == 2 ? ErrorKind::kInput : ErrorKind::kIo,
                      "cannot run " + spec.argv[0] + where + ": " + kStages[failure.stage] + " failed: " +
                          std::strerror(failure.err));
  }
  child.pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!child.pidfd_.valid()) return errno_error("pidfd_open");
  return child;
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      output_(std::move(other.output_)),
      stdin_(std::move(other.stdin_)),
      reaped_(std::exchange(other.reaped_, false)),
      status_(other.status_) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !reaped_) stop(std::chrono::milliseconds(0));
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    output_ = std::move(other.output_);
    stdin_ = std::move(other.stdin_);
    reaped_ = std::exchange(other.reaped_, false);
    status_ = other.status_;
  }
  return *this;
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) stop(std::chrono::milliseconds(0));
}

void Child::signal_group(int sig) {
  if (pid_ <= 0 || reaped_) return;
  // The child leads its session and group; until it is reaped its pid
  // cannot be reused, so the group id is still ours.
  if (::kill(-pid_, sig) != 0) ::kill(pid_, sig);
}

void Child::reap_blocking() {
  if (pid_ <= 0 || reaped_) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  reaped_ = true;
  status_ = r == pid_ ? status : 0;
}

bool Child::try_reap() {
  if (pid_ <= 0 || reaped_) return reaped_;
  siginfo_t info{};
  // WNOWAIT: look first, so the group can still be killed by its id.
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == ECHILD) reaped_ = true;
    return reaped_;
  }
  if (info.si_pid != pid_) return false;
  ::kill(-pid_, SIGKILL);  // whatever it left behind in its group
  await_group_gone();
  reap_blocking();
  return true;
}

void Child::await_group_gone() {
  // SIGKILL is delivered at once but a process takes time to die: a
  // compiler with a large heap, or a sandbox's pid 1 that must first reap
  // its namespace. Until the leader is reaped the group id is still ours.
  // Bounded: a process stuck in the kernel (D state) is not waited for.
  const Deadline deadline = Deadline::after(std::chrono::seconds(5));
  while (!live_group_members(pid_, pid_).empty() && !deadline.expired())
    ::usleep(20 * 1000);
}

bool Child::wait(Deadline deadline) {
  while (!try_reap()) {
    if (deadline.expired()) return false;
    pollfd p{pidfd_.get(), POLLIN, 0};
    (void)::poll(&p, 1, std::min(deadline.poll_timeout_ms(), 1000));
  }
  return true;
}

void Child::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || reaped_) return;
  if (grace.count() > 0) {
    signal_group(SIGTERM);
    if (wait(Deadline::after(grace))) return;
  }
  signal_group(SIGKILL);
  (void)try_reap();
  reap_blocking();
}

int Child::exit_code() const {
  if (!reaped_) return -1;
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

std::string Child::describe_exit() const {
  if (!reaped_) return "is still running";
  if (WIFSIGNALED(status_))
    return "was killed by signal " + std::to_string(WTERMSIG(status_)) + " (" + signal_name(WTERMSIG(status_)) + ")";
  return "exited with status " + std::to_string(exit_code());
}

Result<Exit> run(const Spec& spec, const Limits& limits, const std::filesystem::path& log,
                 const std::function<void(const std::string&)>& on_line) {
  const std::string what = limits.what.empty() ? "\"" + command_text(spec.argv) + "\"" : limits.what;
  ScopedFd log_fd;
  if (!log.empty()) {
    log_fd.reset(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log_fd.valid()) return errno_error("opening log " + log.string());
  }
  Spec s = spec;
  s.output_fd = -1;
  RACERIG_ASSIGN(Child child, Child::spawn(s));
  size_t stdin_sent = 0;
  if (spec.stdin_data.empty()) child.close_stdin();
  Exit result;
  std::string pending;
  char buf[65536];
  auto consume = [&](ssize_t n) {
    if (log_fd.valid()) (void)!::write(log_fd.get(), buf, static_cast<size_t>(n));
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
  };
  const int cancel = limits.cancellable ? cancel_fd() : -1;
  // Once the child is gone, its output is read for a short while more (a
  // process outside its group may hold the pipe open).
  std::optional<Deadline> drain;
  while (child.output_fd() >= 0) {
    if (drain && drain->expired()) break;
    pollfd p[4] = {{child.output_fd(), POLLIN, 0},
                   {child.stdin_fd(), POLLOUT, 0},
                   {cancel, POLLIN, 0},
                   {child.exited() ? -1 : child.pidfd(), POLLIN, 0}};
    int r = ::poll(p, 4, std::min(limits.deadline.poll_timeout_ms(), 1000));
    if (r < 0 && errno != EINTR) return errno_error("poll");
    if (limits.cancellable && cancelled()) {
      child.stop(limits.grace);
      return make_error(ErrorKind::kCancelled, what + " was interrupted and stopped");
    }
    if (limits.deadline.expired()) {
      child.stop(limits.grace);
      return make_error(ErrorKind::kTimeout, what + " did not finish before its deadline and was stopped");
    }
    if (r <= 0) continue;
    if (p[1].revents != 0) {
      const std::string& in = spec.stdin_data;
      ssize_t n = ::send(child.stdin_fd(), in.data() + stdin_sent, in.size() - stdin_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) stdin_sent += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || stdin_sent == in.size()) child.close_stdin();
    }
    if (p[0].revents != 0) {
      ssize_t n = ::read(child.output_fd(), buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        child.close_output();
        break;
      }
      consume(n);
    } else if (p[3].revents != 0 && child.try_reap()) {
      // Exited (its group is killed by try_reap): what is still in the
      // pipe arrives, then EOF.
      child.close_stdin();
      drain = Deadline::after(std::chrono::milliseconds(2000));
    }
  }
  if (!pending.empty() && on_line) on_line(pending);
  // The pipe is closed: the child exits soon (or already has).
  while (!child.wait(Deadline::after(std::chrono::milliseconds(1000)))) {
    if ((limits.cancellable && cancelled()) || limits.deadline.expired()) {
      bool was_cancel = limits.cancellable && cancelled();
      child.stop(limits.grace);
      return make_error(was_cancel ? ErrorKind::kCancelled : ErrorKind::kTimeout,
                        what + (was_cancel ? " was interrupted and stopped" : " did not finish before its deadline and was stopped"));
    }
  }
  result.code = child.exit_code();
  return result;
}

Result<std::string> run_checked(const Spec& spec, const Limits& limits, const std::filesystem::path& log) {
  RACERIG_ASSIGN(Exit e, run(spec, limits, log));
  if (e.code != 0) {
    std::string tail = e.output.size() > 2000 ? e.output.substr(e.output.size() - 2000) : e.output;
    return make_error(ErrorKind::kIo, "\"" + command_text(spec.argv) + "\" failed (exit " + std::to_string(e.code) +
                                          "): " + tail);
  }
  return e.output;
}

}  // namespace racerig::process
