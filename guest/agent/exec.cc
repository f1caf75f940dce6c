// The exec op (see exec.h): fork, a comm-named link, exec, bounded output,
// a deadline, and the process group killed and reaped at the end.
#include "guest/agent/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/scoped_fd.h"

namespace racerig::agent {

namespace {

// One of the program's output pipes: the first `limit` bytes kept, the rest
// counted.
struct Capture {
  ScopedFd fd;
  std::string text;
  uint64_t cut = 0;
  bool open() const { return fd.valid(); }
  // Reads what is there; closes the fd at EOF.
  void drain(size_t limit) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) {
        fd.reset();
        return;
      }
      size_t keep = std::min(static_cast<size_t>(n), limit - std::min(limit, text.size()));
      text.append(buf, keep);
      cut += static_cast<uint64_t>(n) - keep;
    }
  }
};

// The event's string fields must be UTF-8: bytes outside printable ASCII
// (but for newline and tab) become '?'.
std::string printable(std::string text) {
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u >= 0x7f) c = '?';
  }
  return text;
}

std::string current_comm() {
  char name[17] = {};
  ::prctl(PR_GET_NAME, name, 0, 0, 0);
  return name;
}

// "SIGSEGV" style name of a signal.
std::string signal_text(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  std::string out = abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
  return out + " (" + std::to_string(sig) + ")";
}

// SIGKILLs process group `pgid` until none of its members is our child
// left to reap. Returns how many were reaped.
int kill_and_reap_group(pid_t pgid) {
  int reaped = 0;
  for (;;) {
    ::kill(-pgid, SIGKILL);
    int status = 0;
    pid_t r = ::waitpid(-pgid, &status, 0);
    if (r > 0) {
      ++reaped;
      continue;
    }
    if (errno == EINTR) continue;
    return reaped;  // ECHILD: nothing of the group is ours any more
  }
}

// A link named `comm` to the program, in a directory of its own: exec(2)
// takes the new comm from the file name.
std::string comm_link(const ExecConfig& config, const std::string& program_path, const std::string& comm,
                      std::string* error) {
  const std::string dir = config.links_dir + "/" + std::to_string(::getpid());
  ::mkdir(config.links_dir.c_str(), 0755);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    *error = "mkdir " + dir + ": " + std::strerror(errno);
    return "";
  }
  const std::string link = dir + "/" + comm;
  ::unlink(link.c_str());
  if (::symlink(program_path.c_str(), link.c_str()) != 0) {
    *error = "symlink " + link + " -> " + program_path + ": " + std::strerror(errno);
    return "";
  }
  return link;
}

}  // namespace

OpStatus run_exec(const pb::Exec& op, const ExecConfig& config, pb::AgentEvent* ev) {
  const std::string& name = op.program();
  ev->set_program(name);
  ev->set_exit_code(-1);
  const std::string program_path = config.programs_dir + "/" + name;
  if (::access(program_path.c_str(), X_OK) != 0) return OpStatus::sys("program " + name + ": " + program_path);

  auto timeout = op.timeout_ms() == 0 ? config.default_timeout : std::chrono::milliseconds(op.timeout_ms());
  timeout = std::min(timeout, config.max_timeout);

  const std::string comm = current_comm();
  std::string error;
  const std::string link = comm_link(config, program_path, comm.empty() ? name : comm, &error);
  if (link.empty()) return OpStatus::invalid("program " + name + ": " + error);

  std::vector<std::string> args{link};
  args.insert(args.end(), op.argv().begin(), op.argv().end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> envs(op.env().begin(), op.env().end());
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out[2], err[2], fail[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return OpStatus::sys("program " + name + ": pipe");
  ScopedFd out_rd(out[0]), out_wr(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return OpStatus::sys("program " + name + ": pipe");
  ScopedFd err_rd(err[0]), err_wr(err[1]);
  if (::pipe2(fail, O_CLOEXEC) != 0) return OpStatus::sys("program " + name + ": pipe");
  ScopedFd fail_rd(fail[0]), fail_wr(fail[1]);

  // Orphans of the program come back to us (not to PID 1) to be reaped.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  // Only the program carries the caller's comm while it runs.
  ::prctl(PR_SET_NAME, "racerig-wait", 0, 0, 0);
  const Deadline deadline = Deadline::after(timeout);
  const pid_t pid = ::fork();
  if (pid < 0) {
    OpStatus s = OpStatus::sys("program " + name + ": fork");
    ::prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0);
    return s;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::dup2(out_wr.get(), 1);
    ::dup2(err_wr.get(), 2);
    ::execve(link.c_str(), argv.data(), envp.data());
    int e = errno;
    while (::write(fail_wr.get(), &e, sizeof e) < 0 && errno == EINTR) {
    }
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no window in which a kill(-pid) misses it
  out_wr.reset();
  err_wr.reset();
  fail_wr.reset();

  int exec_errno = 0;
  {
    ssize_t n;
    while ((n = ::read(fail_rd.get(), &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
    }
    if (n != sizeof exec_errno) exec_errno = 0;
  }
  Capture cout{std::move(out_rd)}, cerr{std::move(err_rd)};
  for (Capture* c : {&cout, &cerr}) ::fcntl(c->fd.get(), F_SETFL, O_NONBLOCK);

  int status = 0;
  bool ended = false;
  while (!ended && !deadline.expired()) {
    struct pollfd fds[2];
    nfds_t n = 0;
    for (Capture* c : {&cout, &cerr})
      if (c->open()) fds[n++] = {c->fd.get(), POLLIN, 0};
    // Short slices: the child's exit is seen by waitpid, not by a signal.
    ::poll(fds, n, std::min(deadline.poll_timeout_ms(), 50));
    for (Capture* c : {&cout, &cerr})
      if (c->open()) c->drain(config.output_limit);
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) ended = true;
  }
  // The program ended or ran out of time: nothing of its group survives it.
  const int reaped = kill_and_reap_group(pid);
  for (Capture* c : {&cout, &cerr})
    while (c->open()) {
      struct pollfd p = {c->fd.get(), POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) break;  // a stray holder outside the group
      c->drain(config.output_limit);
    }
  ::prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0);

  ev->set_stdout_text(printable(cout.text));
  ev->set_stderr_text(printable(cerr.text));
  ev->set_stdout_cut(cout.cut);
  ev->set_stderr_cut(cerr.cut);
  std::string output;
  for (auto [label, c] : {std::pair<const char*, Capture*>{"stdout", &cout}, {"stderr", &cerr}}) {
    const uint64_t total = c->text.size() + c->cut;
    if (total == 0) continue;
    output += std::string("; ") + label + " " + std::to_string(total) + " bytes";
    if (c->cut > 0) output += " (" + std::to_string(c->cut) + " cut, the first " + std::to_string(c->text.size()) + " kept)";
  }
  const std::string who = "program " + name;
  if (exec_errno != 0) return OpStatus::sys_errno(exec_errno, who + ": execve " + program_path);
  if (!ended)
    return OpStatus::invalid(who + " still running after " + std::to_string(timeout.count()) +
                             " ms: killed with its process group (" + std::to_string(reaped) + " processes)" + output);
  const std::string others =
      reaped > 0 ? "; " + std::to_string(reaped) + " processes it left behind killed" : std::string();
  if (WIFSIGNALED(status)) {
    ev->set_signal(WTERMSIG(status));
    return OpStatus::invalid(who + " killed by " + signal_text(WTERMSIG(status)) + output + others);
  }
  const int code = WEXITSTATUS(status);
  ev->set_exit_code(code);
  if (code != op.expect_exit())  // the program's verdict: a failed check
    return OpStatus::check(who + " exited with " + std::to_string(code) + " (expected " +
                             std::to_string(op.expect_exit()) + ")" + output + others);
  return OpStatus::success(who + " exited with " + std::to_string(code) + output + others);
}

}  // namespace racerig::agent
