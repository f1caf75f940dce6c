// bubblewrap's --json-status-fd records: one JSON object per line. After
// starting the sandbox bwrap writes {"child-pid": N, ...} (the sandbox's
// first process, in our PID namespace); when the command ends it writes
// {"exit-code": N} in the shell's encoding (N for exit(N), 128+S for a
// death by signal S). Unknown members and objects are ignored, as bwrap(1)
// asks of readers. Measured with bubblewrap 0.8.0: a SIGKILLed command gives
// {"exit-code": 137}; a command bwrap could not exec gives no exit-code line.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string_view>

#include "rig/base/result.h"

namespace racerig::process {

struct BwrapStatus {
  std::optional<pid_t> child_pid;  // the sandbox's first process
  std::optional<int> exit_code;    // only once the command ended
};

// Parses the records read so far. A last line without its newline is an
// unfinished write and is ignored. kProtocol, naming the line number and
// quoting it, for a complete line that is not a JSON object or a known
// member with a value of the wrong type or range.
Result<BwrapStatus> parse_bwrap_status(std::string_view text);

// The command's end from bubblewrap's exit-code: false and N for exit(N),
// true and S for a death by signal S (128 < code < 128 + 65).
struct ShellExit {
  bool signalled = false;
  int value = 0;
};
ShellExit decode_shell_exit(int code);

}  // namespace racerig::process
