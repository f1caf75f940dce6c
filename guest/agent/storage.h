// The guest's storage as a scenario's `setup {}` describes it (device,
// mkfs, mount options), with its defaults filled in and its contradictions
// refused. One module for both ends: the scenario loader checks it, the
// host sizes the machine's disk from it, the agent sets it up.
#pragma once

#include <string>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"

namespace racerig::agent {

enum class Device { kPmem, kVirtioBlk, kNone };
enum class Filesystem { kXfs, kExt4, kNone };

// Where the virtio-blk disk appears in the guest, and its size (a qcow2
// image of this many MiB; mkfs.xfs wants at least 300).
inline constexpr char kVirtioBlkDevice[] = "/dev/vda";
inline constexpr int kVirtioDiskMb = 512;

struct Storage {
  Device device = Device::kPmem;
  Filesystem fs = Filesystem::kXfs;
  std::string mount_options;  // -o of the mount ("" for the kernel's defaults)
  std::string mkfs_options;   // extra mkfs arguments
  // Nothing is mounted on /mnt (no device, or mkfs none).
  bool mounted() const { return device != Device::kNone && fs != Filesystem::kNone; }
};

// "pmem", "virtio_blk", "none" and "xfs", "ext4", "none": the scenario's words.
const char* device_name(Device d);
const char* filesystem_name(Filesystem f);

// The storage `setup` asks for: device absent = pmem (none with the older
// skip_fsdax), mkfs absent = xfs on a device, none without one;
// mount_options absent = "dax=inode" for pmem, none otherwise; mkfs_options
// absent = "-m reflink=0" for xfs. A kInput error for a value outside the
// enums, mkfs or options without a device, options without a file system,
// skip_fsdax with another device; *field (when given) names the setup
// field at fault ("device", "mkfs", "mount_options", ...).
Result<Storage> resolve_storage(const pb::GuestSetup& setup, std::string* field = nullptr);

// One line for events and messages: "ext4 on virtio_blk (/dev/vda), -o noatime".
std::string storage_text(const Storage& s);

}  // namespace racerig::agent
