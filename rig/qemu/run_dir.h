// The per-run directories of QEMU processes (racerig-run-* in $TMPDIR):
// made with an owner record, and removed by a later racerig once their
// owner is gone (a SIGKILLed racerig cannot clean up after itself).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <vector>

#include "rig/base/result.h"

namespace racerig::vm {

// $TMPDIR, else /tmp.
std::filesystem::path default_run_parent();

// A fresh racerig-run-XXXXXX in `parent`, holding "owner" (this process's
// pid and start time).
Result<std::filesystem::path> make_run_dir(const std::filesystem::path& parent);

// Records the process that runs QEMU for this dir (pid and start time), so
// a later cleanup can kill it if it outlived its owner.
void record_qemu(const std::filesystem::path& run_dir, pid_t pid);

// Removes the racerig-run-* dirs in `parent` (default: default_run_parent())
// whose owner is gone, after killing the QEMU they recorded (if it still
// runs) and any process still naming the dir on its command line. A dir
// without an owner record (older racerigs) is removed only when no process
// names it and it is over an hour old. Returns the dirs removed.
std::vector<std::filesystem::path> remove_stale_run_dirs(const std::filesystem::path& parent = {});

}  // namespace racerig::vm
