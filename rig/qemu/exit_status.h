// How a QEMU process ended, in the words of what happened: "QEMU was killed
// by signal 9 (SIGKILL)" or "QEMU exited with status 1", with the end of
// its stderr. For run reports when the guest disappears under a run.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace racerig::qemu {

// `wait_status` is waitpid()'s status word; `stderr_text` QEMU's stderr (or
// its log), of which the last `tail_lines` non-empty lines are quoted.
std::string describe_qemu_exit(int wait_status, std::string_view stderr_text, int tail_lines = 10);

// The same for a QEMU run inside bubblewrap. `qemu_exit_code` is QEMU's
// status as bubblewrap's status record gave it (shell encoding: 128+S for a
// death by signal S; QEMU itself exits 0 or 1), nullopt when bwrap wrote
// none (it failed, or was itself killed): then `bwrap_wait_status` (bwrap's
// own waitpid status) is described as the sandbox's end.
std::string describe_sandboxed_qemu_exit(std::optional<int> qemu_exit_code, int bwrap_wait_status,
                                         std::string_view stderr_text, int tail_lines = 10);

// Whether `text` (an error message) says that QEMU itself was killed by a
// signal, as the two functions above word it. Such a death says nothing
// about QEMU's inputs (a snapshot it was loading, say).
bool says_qemu_was_killed(std::string_view text);

}  // namespace racerig::qemu
