// A racerigd that `racerig bench` starts for its service row (a frontend or
// a worker): a child process with its own log file, ready once the log
// shows its start-up line, and stopped when destroyed (SIGTERM, so its
// running jobs go back to the queue; SIGKILL after a grace). The QEMUs its
// jobs start die with it (they are its children, with PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/process/process.h"

namespace racerig::host {

class RacerigdProcess {
 public:
  static constexpr std::chrono::seconds kGrace{20};

  // Starts `binary` with `args`, its stdout and stderr appended to `log`,
  // and waits until `log` holds `ready` (e.g. "racerigd: serving"). Errors
  // name `name` and quote the log's tail: kInput when the binary cannot be
  // run, kIo when it exits before it is ready, kTimeout at `deadline`,
  // kCancelled on Ctrl-C (process::cancelled()). After an error nothing of
  // it is left running.
  static Result<std::unique_ptr<RacerigdProcess>> start(const std::string& name, const std::filesystem::path& binary,
                                                        const std::vector<std::string>& args,
                                                        const std::filesystem::path& log, const std::string& ready,
                                                        Deadline deadline);
  ~RacerigdProcess();  // stop()
  RacerigdProcess(const RacerigdProcess&) = delete;
  RacerigdProcess& operator=(const RacerigdProcess&) = delete;

  // SIGTERM to its process group; SIGKILL after `grace` if it is still
  // there; reaped when this returns. Idempotent.
  void stop(std::chrono::milliseconds grace = kGrace);
  // kIo naming it, its exit and quoting its log's tail once it has exited
  // (a crash mid-run); OK while it runs. Never blocks.
  Status check_running();
  // Its exit ("exited with status 0"), or "is still running".
  std::string describe_exit() const { return child_.describe_exit(); }
  pid_t pid() const { return child_.pid(); }
  const std::string& name() const { return name_; }

 private:
  RacerigdProcess(std::string name, process::Child child, std::filesystem::path log)
      : name_(std::move(name)), child_(std::move(child)), log_(std::move(log)) {}
  std::string name_;
  process::Child child_;
  std::filesystem::path log_;
};

// The last `max_bytes` of the file at `path` (whole lines where it can), for
// error messages; "(no log: <why>)" when it cannot be read.
std::string log_tail(const std::filesystem::path& path, size_t max_bytes = 2000);

}  // namespace racerig::host
