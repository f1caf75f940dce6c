// Owned child processes: run a command with its output going to a log file
// (and, line by line, to a callback), with a deadline and cancellation.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/result.h"

namespace racerig::kbuild {

struct Command {
  std::vector<std::string> argv;
  std::filesystem::path cwd;
  std::filesystem::path log;   // stdout+stderr appended here (empty: discarded)
  std::string stdin_data;      // fed to the child's stdin
};

struct Exit {
  int code = -1;        // exit status, or -1 when killed by a signal
  std::string output;   // stdout+stderr (kept in memory too, up to 1 MiB tail)
};

// Runs `cmd` until it exits or `deadline` passes (then SIGTERM, SIGKILL, and
// a kTimeout error naming the command). `on_line` sees each output line.
// A non-zero exit is NOT an error here: callers read Exit::code.
Result<Exit> run_command(const Command& cmd, Deadline deadline,
                         const std::function<void(const std::string&)>& on_line = {});

// Convenience: runs and returns stdout+stderr, kIo error on non-zero exit
// naming the command and quoting its output's tail.
Result<std::string> run_checked(const Command& cmd, Deadline deadline);

std::string command_text(const std::vector<std::string>& argv);

}  // namespace racerig::kbuild
