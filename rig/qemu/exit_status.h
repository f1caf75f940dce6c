// How a QEMU process ended, in the words of what happened: "QEMU was killed
// by signal 9 (SIGKILL)" or "QEMU exited with status 1", with the end of
// its stderr. For run reports when the guest disappears under a run.
#pragma once

#include <string>
#include <string_view>

namespace racerig::vm {

// `wait_status` is waitpid()'s status word; `stderr_text` QEMU's stderr (or
// its log), of which the last `tail_lines` non-empty lines are quoted.
std::string describe_qemu_exit(int wait_status, std::string_view stderr_text, int tail_lines = 10);

}  // namespace racerig::vm
