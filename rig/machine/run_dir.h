// The per-run directories of racerig's VMs (racerig-run-* in $TMPDIR), made
// by both backends. The direct QEMU backend records their owner (and its
// QEMU) in them, so that a later racerig removes them once the owner is gone
// (a SIGKILLed racerig cannot clean up after itself); the libvirt backend
// records its runs in its own registry instead (rig/libvirt/connection.h).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <vector>

#include "rig/base/result.h"

namespace racerig::machine {

// $TMPDIR, else /tmp.
std::filesystem::path default_run_parent();

// A fresh, empty racerig-run-XXXXXX (mode 0700) in `parent` (empty:
// default_run_parent()). kIo naming the parent.
Result<std::filesystem::path> make_run_dir(const std::filesystem::path& parent);

// Writes `run_dir`/owner: this process's pid and start time, so that
// remove_stale_run_dirs leaves the dir alone while this process lives.
void record_owner(const std::filesystem::path& run_dir);

// Records the process that runs QEMU for this dir (pid and start time), so
// a later cleanup can kill it if it outlived its owner.
void record_qemu(const std::filesystem::path& run_dir, pid_t pid);

// Removes the racerig-run-* dirs in `parent` (default: default_run_parent())
// whose owner is gone, after killing the QEMU they recorded (if it still
// runs) and any process still naming the dir on its command line. A dir
// without an owner record (the libvirt backend's, older racerigs') is
// removed only when no process names it and it is over an hour old. Returns
// the dirs removed.
std::vector<std::filesystem::path> remove_stale_run_dirs(const std::filesystem::path& parent = {});

}  // namespace racerig::machine
