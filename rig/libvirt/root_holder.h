// Who holds an embedded libvirt root, and waiting for it. The embedded
// driver (qemu:///embed) takes a POSIX record lock on
// <root>/run/qemu/driver.pid for as long as its process has the root open.
// A second process's driver fails to start, and cannot be started again in
// that process (measured: "qemu state driver is not active" on every later
// open), so a process must wait *before* opening. F_GETLK names the holder
// without taking anything.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "rig/base/deadline.h"
#include "rig/base/result.h"

namespace racerig::libvirt {

// The pid of the process that holds `root` now, or nullopt when none does
// (no lock file, or nobody locks it). Never blocks and never takes the lock.
std::optional<pid_t> embed_root_holder(const std::filesystem::path& root);

// "pid 1234 (racerig bench --runs 3)": the holder as a user recognises it,
// from /proc/PID/cmdline (its first 80 characters); "pid 1234" alone when
// that cannot be read.
std::string describe_holder(pid_t pid);

// Waits until no other process holds `root`, then holds it for this process
// for the rest of its life: the same record lock the driver takes, which
// the driver in this process then gets at once (record locks belong to a
// process; closing any descriptor of the file would drop the driver's lock
// too, so it is never closed). Says once through `waiting` whom it waits
// for. A root whose lock file does not exist yet is free (nothing to wait
// for). kTimeout at `deadline` and kCancelled on Ctrl-C name the root and
// the holder; kIo when the lock file cannot be opened.
Status hold_embed_root(const std::filesystem::path& root, Deadline deadline,
                       const std::function<void(const std::string&)>& waiting);

}  // namespace racerig::libvirt
