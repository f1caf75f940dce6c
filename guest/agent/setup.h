// Guest set-up: the scenario's storage (storage.h: the NVDIMM's fsdax
// namespace or a virtio-blk disk, mkfs.xfs or mke2fs, the mount of /mnt, or
// nothing), each step
// reported as a SETUP event; and the small helpers they need (running a tool
// with its output captured, reading /proc/self/mounts, statfs magic names).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guest/agent/fsdax.h"
#include "guest/agent/reporter.h"
#include "guest/agent/storage.h"
#include "proto/racerig.pb.h"
#include "rig/base/deadline.h"
#include "rig/base/result.h"

namespace racerig::agent {

struct SetupConfig {
  NvdimmPaths nvdimm;
  std::string virtio_device = kVirtioBlkDevice;
  std::string mkfs = "/sbin/mkfs.xfs";
  std::string mke2fs = "/sbin/mke2fs";
  std::string mountpoint = "/mnt";
  std::chrono::milliseconds device_wait{10000};
  std::chrono::milliseconds mkfs_limit{120000};
};

struct CommandResult {
  int exit_code = -1;    // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string output;    // stdout and stderr together, the last 4 KiB
};

// Runs argv[0] (a path, no PATH search) with argv, stdin /dev/null, stdout
// and stderr captured. Blocks until it exits; at the deadline it is killed
// (timed_out). kIo if it cannot be started.
Result<CommandResult> run_command(const std::vector<std::string>& argv, Deadline deadline);

// Splits on spaces and tabs ("-m reflink=0" -> {"-m", "reflink=0"}).
std::vector<std::string> split_words(std::string_view text);

struct MountEntry {
  std::string source, target, fs_type, options;
};
// The last entry for `target` in /proc/self/mounts text (octal escapes such
// as \040 decoded), nullopt if none.
std::optional<MountEntry> find_mount(std::string_view mounts_text, std::string_view target);

// Mount options as mount(8) takes them, split for mount(2): the generic
// ones (ro, rw, nosuid, nodev, noexec, sync, dirsync, noatime,
// nodiratime, relatime, strictatime, lazytime and their opposites) become
// MS_* flags, the rest stays the file system's data ("dax=inode").
struct MountArgs {
  unsigned long flags = 0;
  std::string data;
};
MountArgs split_mount_options(std::string_view options);

// "xfs", "tmpfs", "ramfs", ... for a statfs f_type; "0x..." otherwise.
std::string fs_type_name(uint64_t magic);

// Everything before the prepare ops, as resolve_storage(setup) says: on
// pmem, the namespace into fsdax; on virtio_blk, wait for the disk; mkfs
// and mount on config.mountpoint (nothing for device none or mkfs none);
// then a SETUP event describing the mount (fs_type from statfs, source and
// options from /proc/self/mounts, namespace_mode from sysfs). Errors name
// the step (and the setup field: mount options the kernel refuses are a
// kInput naming setup.mount_options); the caller reports FATAL.
//
// kFromTemplate: the NVDIMM image is a copy of a template (see
// GuestPlan.filesystem_from_template): the namespace must already be fsdax
// and the filesystem empty; no conversion, no mkfs. kMakeTemplate: the full
// set-up, then the filesystem is checked empty and unmounted cleanly. Both
// only for a file system on pmem (kInput otherwise).
enum class SetupMode { kFull, kFromTemplate, kMakeTemplate };
Status setup_filesystem(const pb::GuestSetup& setup, const SetupConfig& config, const Reporter& reporter,
                        SetupMode mode = SetupMode::kFull);

// kIo unless `dir` holds nothing (or only an empty lost+found).
Status check_empty_dir(const std::string& dir);

}  // namespace racerig::agent
