// Child processes: the one place racerig forks and execs. A Child owns its
// process (pid + pidfd) and the process group the child leads (it starts a
// new session, so a terminal's Ctrl-C never reaches it directly and it has
// no controlling terminal); destroying a Child kills the group and reaps.
// run() drives a command to completion with a deadline, honouring
// cancellation (Ctrl-C): the group gets SIGTERM, then SIGKILL after a grace
// period, and nothing of it is left running when run() returns.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/base/scoped_fd.h"
#include "rig/process/identity.h"

namespace racerig::process {

struct Spec {
  std::vector<std::string> argv;             // argv[0] is looked up in PATH
  std::filesystem::path cwd;                 // empty: ours
  std::optional<std::vector<std::string>> env;  // "NAME=value"; nullopt: inherit ours
  std::string stdin_data;                    // fed to stdin (a socket); empty: /dev/null
  // Where stdout and stderr go. -1: a pipe that run() reads (and
  // Child::output_fd() exposes); else this fd (e.g. a log file).
  int output_fd = -1;
  std::optional<Identity> identity;  // switch to this user first (needs root)
  std::vector<int> keep_fds;         // fds the child inherits at the same numbers
};

class Child {
 public:
  // Forks and execs. kInput when the program cannot be run (naming it and
  // why), kIo when a system call fails. Never blocks for long.
  static Result<Child> spawn(const Spec& spec);

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Kills the group (SIGKILL) and reaps, unless already reaped.
  ~Child();

  pid_t pid() const { return pid_; }
  // Readable once the child has exited (poll it).
  int pidfd() const { return pidfd_.get(); }
  // The read end of the output pipe (-1 when Spec::output_fd was given).
  int output_fd() const { return output_.get(); }
  int stdin_fd() const { return stdin_.get(); }
  void close_stdin() { stdin_.reset(); }
  void close_output() { output_.reset(); }

  // Does not wait for a running child: reaps it if it exited, after
  // SIGKILLing what is left of its group and waiting (up to 5 s) until
  // that has died. True once reaped.
  bool try_reap();
  // Blocks until the child exits or `deadline`; true once reaped.
  bool wait(Deadline deadline);
  // SIGTERM to the group; SIGKILL to the group after `grace` if the child
  // is still there; reaps. Idempotent.
  void stop(std::chrono::milliseconds grace);
  // Sends `sig` to the whole group (no-op once reaped).
  void signal_group(int sig);

  bool exited() const { return reaped_; }
  // The exit status, or 128 + the signal that killed it; -1 before exit.
  int exit_code() const;
  // waitpid()'s status word; 0 before exit.
  int wait_status() const { return reaped_ ? status_ : 0; }
  // "exited with status 2", "was killed by signal 9 (SIGKILL)".
  std::string describe_exit() const;

 private:
  Child() = default;
  void reap_blocking();
  void await_group_gone();

  pid_t pid_ = -1;
  ScopedFd pidfd_, output_, stdin_;
  bool reaped_ = false;
  int status_ = 0;
};

struct Exit {
  int code = -1;        // exit status, or 128 + signal
  std::string output;   // stdout+stderr (the last MiB)
};

struct Limits {
  Deadline deadline = Deadline::after(std::chrono::minutes(10));
  bool cancellable = true;                        // Ctrl-C or the thread's job token stops it (kCancelled)
  std::chrono::milliseconds grace{3000};          // SIGTERM -> SIGKILL
  std::string what;                               // for messages; default: the command line
};

// Runs until the child exits. Output goes to `log` (appended; empty: not
// kept on disk), to `on_line` line by line, and the tail into Exit::output.
// A non-zero exit is NOT an error here: callers read Exit::code. At the
// deadline: kTimeout; on Ctrl-C: kCancelled; the group is stopped first.
Result<Exit> run(const Spec& spec, const Limits& limits, const std::filesystem::path& log = {},
                 const std::function<void(const std::string&)>& on_line = {});

// Runs and returns the output; kIo naming the command and quoting its
// output's tail on a non-zero exit.
Result<std::string> run_checked(const Spec& spec, const Limits& limits, const std::filesystem::path& log = {});

std::string command_text(const std::vector<std::string>& argv);

// Name of a signal ("SIGKILL"), or "signal N".
std::string signal_name(int sig);

}  // namespace racerig::process
