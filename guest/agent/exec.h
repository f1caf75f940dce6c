// The exec op: runs one of the scenario's programs (packed by the host at
// <programs_dir>/<name>) as a child of the caller, in a process group of its
// own, with the caller's comm as its comm (so that a hold point matching an
// actor's comm finds the program), its output bounded, a deadline, and
// every process of its group killed and reaped when it ends.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "guest/agent/op_status.h"
#include "proto/racerig.pb.h"

namespace racerig::agent {

struct ExecConfig {
  std::string programs_dir = "/racerig/programs";
  // Where the comm-named links to programs are made (one directory per
  // calling process): exec(2) sets comm from the file name it was given.
  std::string links_dir = "/tmp/racerig-exec";
  std::chrono::milliseconds default_timeout{30000};  // Exec.timeout_ms 0
  std::chrono::milliseconds max_timeout{55000};      // cap on any Exec.timeout_ms
  // Kept of stdout, and of stderr. The event is one line to the host, whose
  // reader takes lines up to 64 KiB (rig/machine/line_buffer.h): both
  // streams, escaped (at most 2 bytes a byte), must fit with room to spare.
  size_t output_limit = 8 * 1024;
};

// Runs `op` to its end: the program's exit, a killing signal, or its
// timeout (then its process group is SIGKILLed). Blocks meanwhile; never
// leaves a process of the program's group behind (the caller becomes a
// child subreaper so that orphans come back to it). The program inherits
// the caller's CPU affinity; its comm is the caller's comm, which is
// renamed "racerig-wait" while the program runs so that only the program
// carries it. Fills ev's program, exit_code, signal, stdout/stderr text
// (bytes outside printable ASCII, newline and tab shown as '?') and cuts.
// Fails when the program cannot be started, a signal ended it, it did not
// end in time (kill the group), or its exit code is not op.expect_exit()
// (a failed check: check_failed); the message names the program and the
// reason, and how much output there was and was cut.
OpStatus run_exec(const pb::Exec& op, const ExecConfig& config, pb::AgentEvent* ev);

}  // namespace racerig::agent
