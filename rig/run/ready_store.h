// Ready-state snapshots that outlive one invocation, cached the way kernels
// are: one directory per key under <work_dir>/snapshots, made in a staging
// directory and published by one rename, made by one process at a time
// (flock), and checked before every use: a snapshot whose meta.pb does not
// parse, names another key, or whose files differ from what was published
// is removed (and then made again by the caller), never used.
//
// A snapshot directory holds:
//   ram.img       guest RAM at the ready state (sparse)
//   pmem.img      the NVDIMM at the ready state (sparse)
//   device.state  QEMU's device state (a migration stream without the RAM)
//   initrd.img    the initramfs the ready state booted (base + plan)
//   meta.pb       pb::ReadySnapshot: the key's inputs, the files, the agent's
//                 set-up events
//   used          empty; its mtime is when find() last returned the snapshot
//                 (for pruning; no check looks at it)
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/base/scoped_fd.h"

namespace racerig::run {

// The file names inside a snapshot directory.
inline constexpr char kRamFile[] = "ram.img";
inline constexpr char kPmemFile[] = "pmem.img";
inline constexpr char kDeviceStateFile[] = "device.state";
inline constexpr char kInitrdFile[] = "initrd.img";
inline constexpr char kDiskFile[] = "disk.qcow2";  // only with a virtio-blk disk (disk_mb > 0)
inline constexpr char kMetaFile[] = "meta.pb";
inline constexpr char kUsedFile[] = "used";
inline constexpr uint32_t kSnapshotFormat = 1;

// Everything that defines a ready state. The key hashes all of it.
struct SnapshotInputs {
  std::string kernel_build_id;
  std::string base_initramfs;    // the base image's file name (a hash of its content)
  std::string guest_plan;        // the serialized GuestPlan (workload, set-up, flags)
  std::string programs;          // "name=key" of each packed program, space-separated
  std::string pmem_template;     // the template's file name (a hash of its inputs), or ""
  std::string append;            // the kernel command line
  std::string qemu_version;      // `qemu --version`, first line
  std::string qemu_binary;       // the binary's path, size and mtime
  int cpus = 0, memory_mb = 0, pmem_mb = 0;
  int disk_mb = 0;  // the virtio-blk disk (setup { device: virtio_blk }); 0: none
  bool kvm = false;
};

// The inputs as text, one "name: value" per line (the plan as hex), and its
// hash (24 hex digits), the directory's name.
std::string snapshot_key_text(const SnapshotInputs& inputs);
std::string snapshot_key(const std::string& key_text);

class ReadySnapshotStore {
 public:
  struct Entry {
    std::filesystem::path dir;
    pb::ReadySnapshot meta;
    std::filesystem::path file(const char* name) const { return dir / name; }
  };

  explicit ReadySnapshotStore(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }

  // The published snapshot for `key`, checked: nullopt when there is none.
  // A good one is stamped as used now (its `used` file; see last_used()).
  // One that fails a check is removed and *why says what was wrong.
  // `deep` also hashes the large files (seconds), otherwise their size, inode,
  // allocation and times must be as published and the small files are hashed.
  Result<std::optional<Entry>> find(const std::string& key, const std::string& key_text, std::string* why,
                                    bool deep = false) const;
  // Serialises makers of one key (flock on <root>/<key>.lock); released when
  // the fd closes. kTimeout at the deadline. Removes the staging and trash
  // directories of this key that a killed maker left.
  Result<ScopedFd> lock(const std::string& key, Deadline deadline) const;
  // A new, empty staging directory for `key` (under root, same filesystem).
  Result<std::filesystem::path> staging_dir(const std::string& key) const;
  // Records the staged files in `meta` (sizes, hashes, stat), writes
  // meta.pb, syncs and renames the staging directory to <root>/<key>.
  // The staging directory is gone afterwards, published or not.
  Result<Entry> publish(const std::filesystem::path& staging, pb::ReadySnapshot meta) const;
  // Every published snapshot (unchecked; for listing and pruning).
  std::vector<Entry> list() const;
  // Removes a snapshot (atomically: renamed away first, then deleted).
  Status remove(const std::string& key) const;

  // The lock of `key` without waiting: nullopt when another process holds it
  // (a maker is making it). Unlike lock(), it touches nothing else.
  Result<std::optional<ScopedFd>> try_lock(const std::string& key) const;
  // When the snapshot in `dir` was last returned by find(), or published if
  // never; the epoch when neither can be read.
  static std::chrono::system_clock::time_point last_used(const std::filesystem::path& dir);
  // The disk space the snapshot in `dir` takes (allocated blocks: the memory
  // images are sparse, so far less than their sizes).
  static uintmax_t disk_usage(const std::filesystem::path& dir);

  // A staging or trash directory (".staging-<key>-<pid>-<n>",
  // ".trash-<key>-<pid>-<n>") and what its name says.
  struct Leftover {
    std::filesystem::path path;
    std::string key;
    pid_t owner = 0;  // 0 when the name carries no pid
  };
  // Every staging and trash directory under root, of any key.
  std::vector<Leftover> leftovers() const;

 private:
  std::filesystem::path root_;
};

}  // namespace racerig::run
