// What the integration tests share: running racerig (or any shell command)
// and collecting its output, racerig in the background, reading files, the shipped candidates and the
// kernel cache's root. RACERIG_BIN and RACERIG_SOURCE_DIR come from
// tests/CMakeLists.txt.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace racerig::test {

// A pidfd for our child `pid`: readable once it exits (pidfd_open(2)); -1
// on failure. The caller closes it.
inline int child_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Waits until our child `pid` exits or `limit` passes, on its pidfd (no
// polling); reaps it into `*status`. True when it exited in time.
inline bool wait_child_exit(pid_t pid, std::chrono::milliseconds limit, int* status = nullptr) {
  int local = 0;
  int* st = status != nullptr ? status : &local;
  const int fd = child_pidfd(pid);
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    int r;
    do r = ::poll(&p, 1, static_cast<int>(limit.count()));
    while (r < 0 && errno == EINTR);
    ::close(fd);
  }
  return ::waitpid(pid, st, WNOHANG) == pid;
}

// Starts `cmd` through the shell in the background, its stdout and stderr
// appended to `out` and then a line "exit N" with its exit status. Our
// child's pid (reap it: wait_child_exit, kill_child).
inline pid_t start_shell_to(const std::string& cmd, const std::filesystem::path& out) {
  const std::string line = cmd + " > " + out.string() + " 2>&1; echo \"exit $?\" >> " + out.string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", line.c_str(), nullptr);
    ::_exit(127);
  }
  return pid;
}

// SIGKILLs our child `*pid` and reaps it; *pid becomes -1 (nothing when it is <= 0).
inline void kill_child(pid_t* pid) {
  if (*pid <= 0) return;
  ::kill(*pid, SIGKILL);
  ::waitpid(*pid, nullptr, 0);
  *pid = -1;
}

// SIGTERM to our child `*pid`, then SIGKILL after `grace`; reaps it. True
// when it exited by itself within `grace` (or there was none).
inline bool stop_child(pid_t* pid, std::chrono::milliseconds grace) {
  if (*pid <= 0) return true;
  ::kill(*pid, SIGTERM);
  if (wait_child_exit(*pid, grace)) {
    *pid = -1;
    return true;
  }
  kill_child(pid);
  return false;
}

// Blocks until `ready()` holds: it is checked at once, then again each time
// a file in `dir` is created, written, closed or renamed into it (inotify),
// and when our child `child` (if > 0) exits. False at `limit`, or when the
// child exited and `ready()` still does not hold (the child is not reaped).
inline bool wait_for_in_dir(const std::filesystem::path& dir, const std::function<bool()>& ready,
                            std::chrono::milliseconds limit, pid_t child = -1) {
  const auto end = std::chrono::steady_clock::now() + limit;
  const int in = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (in < 0) return ready();
  ::inotify_add_watch(in, dir.c_str(), IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB);
  const int pidfd = child > 0 ? child_pidfd(child) : -1;
  bool ok = false;
  while (true) {
    if ((ok = ready())) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p[2] = {{in, POLLIN, 0}, {pidfd, POLLIN, 0}};
    const int r = ::poll(p, pidfd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (r < 0 && errno != EINTR) break;
    if (r > 0 && (p[1].revents & POLLIN) != 0) {
      ok = ready();
      break;
    }
    char buf[4096];
    while (::read(in, buf, sizeof buf) > 0) {
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  ::close(in);
  return ok;
}

struct Ran {
  int exit_code = -1;  // -1 when the command did not exit normally
  std::string output;  // stdout + stderr
};

// Runs `cmd` through the shell and collects stdout + stderr.
inline Ran run_shell(const std::string& cmd) {
  Ran r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = ::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs the racerig under test on the checkout under test (also for a build
// dir outside it). `env`: extra "NAME=value" assignments, after RACERIG_ROOT
// so that they can override it.
inline Ran run_cli(const std::string& args, const std::string& env = "") {
  return run_shell("RACERIG_ROOT='" + std::string(RACERIG_SOURCE_DIR) + "' " + env + " " + std::string(RACERIG_BIN) +
                   " " + args);
}

// The racerig under test started in the background (RACERIG_ROOT set, then
// `env`'s "NAME=value" entries, which may override it), its stdout and
// stderr in a pipe that the test reads while it waits, so the child never
// blocks on a full pipe. Every wait is bounded; the destructor SIGKILLs and
// reaps what is still running.
class Background {
 public:
  explicit Background(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::setenv("RACERIG_ROOT", RACERIG_SOURCE_DIR, 1);
      for (const auto& e : env) {
        const size_t eq = e.find('=');
        if (eq != std::string::npos) ::setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
      }
      std::vector<std::string> all = {RACERIG_BIN};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(RACERIG_BIN, argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
    if (pid_ < 0) reaped_ = true;
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
    }
    if (out_ >= 0) ::close(out_);
  }

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  const std::string& output() const { return output_; }
  bool exited() const { return reaped_; }
  int status() const { return status_; }  // waitpid()'s status once exited()
  void signal(int sig) {
    if (!reaped_) ::kill(pid_, sig);
  }

  // Reads the output until `done(output)` holds, the process has exited (its
  // last output read), or `limit` passed; returns done's last answer.
  bool read_until(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (true) {
      if (done(output_)) return true;
      if (reaped_ || std::chrono::steady_clock::now() >= end) return false;
      read_some(100);
      if (!reaped_ && ::waitpid(pid_, &status_, WNOHANG) == pid_) {
        reaped_ = true;
        while (read_some(0)) {
        }
      }
    }
  }
  bool read_until_text(const std::string& text, std::chrono::milliseconds limit) {
    return read_until([&](const std::string& out) { return out.find(text) != std::string::npos; }, limit);
  }
  // Waits for the exit, reading the output; after `limit`, SIGKILL. True
  // when it exited by itself in time.
  bool finish(std::chrono::milliseconds limit) {
    read_until([](const std::string&) { return false; }, limit);
    if (reaped_) return true;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    reaped_ = true;
    while (read_some(0)) {
    }
    return false;
  }

 private:
  // One read after waiting up to `timeout_ms`; false when nothing came.
  bool read_some(int timeout_ms) {
    if (out_ < 0) {
      // Nothing left to read: wait for the exit itself (read_until reaps).
      if (timeout_ms > 0 && !reaped_) {
        const int fd = child_pidfd(pid_);
        if (fd >= 0) {
          pollfd p{fd, POLLIN, 0};
          (void)::poll(&p, 1, timeout_ms);
          ::close(fd);
        }
      }
      return false;
    }
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) {
      ::close(out_);
      out_ = -1;
      return false;
    }
    output_.append(buf, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string output_;
};

// The whole file, or "" when it cannot be read.
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A shipped candidate fix of the 6.1 base, by file name.
inline std::string candidate(const std::string& file) {
  return std::string(RACERIG_SOURCE_DIR) + "/kernels/patches/candidates/" + file;
}

// The kernel cache's root (as rig/kbuild's default_cache_root picks it).
inline std::string cache_root() {
  const char* env = std::getenv("RACERIG_CACHE");
  if (env != nullptr && *env != '\0') return env;
  return ::geteuid() == 0 ? "/var/cache/racerig" : std::string(std::getenv("HOME")) + "/.cache/racerig";
}

}  // namespace racerig::test
