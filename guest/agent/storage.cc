// The guest's storage from a scenario's setup {} (see storage.h).
#include "guest/agent/storage.h"

namespace racerig::agent {

namespace {

Error refuse(std::string* field, const std::string& name, const std::string& what) {
  if (field != nullptr) *field = name;
  return make_error(ErrorKind::kInput, "setup." + name + ": " + what);
}

}  // namespace

const char* device_name(Device d) {
  switch (d) {
    case Device::kPmem: return "pmem";
    case Device::kVirtioBlk: return "virtio_blk";
    case Device::kNone: return "none";
  }
  return "?";
}

const char* filesystem_name(Filesystem f) {
  switch (f) {
    case Filesystem::kXfs: return "xfs";
    case Filesystem::kExt4: return "ext4";
    case Filesystem::kNone: return "none";
  }
  return "?";
}

Result<Storage> resolve_storage(const pb::GuestSetup& setup, std::string* field) {
  Storage s;
  switch (setup.device()) {
    case pb::SetupDevice::DEVICE_DEFAULT: s.device = setup.skip_fsdax() ? Device::kNone : Device::kPmem; break;
    case pb::SetupDevice::pmem: s.device = Device::kPmem; break;
    case pb::SetupDevice::virtio_blk: s.device = Device::kVirtioBlk; break;
    case pb::SetupDevice::none: s.device = Device::kNone; break;
    default:
      return refuse(field, "device", "unknown value " + std::to_string(setup.device()) +
                                         " (pmem, virtio_blk or none)");
  }
  if (setup.skip_fsdax() && s.device != Device::kNone)
    return refuse(field, "skip_fsdax",
                  std::string("skip_fsdax means no device, but device is ") + device_name(s.device));
  switch (setup.mkfs()) {
    case pb::SetupMkfs::MKFS_DEFAULT:
      s.fs = s.device == Device::kNone ? Filesystem::kNone : Filesystem::kXfs;
      break;
    case pb::SetupMkfs::xfs: s.fs = Filesystem::kXfs; break;
    case pb::SetupMkfs::ext4: s.fs = Filesystem::kExt4; break;
    case pb::SetupMkfs::none: s.fs = Filesystem::kNone; break;
    default:
      return refuse(field, "mkfs", "unknown value " + std::to_string(setup.mkfs()) + " (xfs, ext4 or none)");
  }
  if (s.device == Device::kNone && s.fs != Filesystem::kNone)
    return refuse(field, "mkfs", std::string("mkfs: ") + filesystem_name(s.fs) +
                                     " needs a device, and device is none (pmem or virtio_blk)");
  if (!s.mounted()) {
    const std::string why = s.device == Device::kNone ? "there is no device" : "mkfs is none";
    if (!setup.mount_options().empty())
      return refuse(field, "mount_options", "\"" + setup.mount_options() + "\" but nothing is mounted: " + why);
    if (!setup.mkfs_options().empty())
      return refuse(field, "mkfs_options", "\"" + setup.mkfs_options() + "\" but nothing is made: " + why);
    return s;
  }
  s.mount_options = !setup.mount_options().empty() ? setup.mount_options()
                    : s.device == Device::kPmem && s.fs == Filesystem::kXfs ? "dax=inode"
                                                                            : "";
  s.mkfs_options = !setup.mkfs_options().empty() ? setup.mkfs_options()
                   : s.fs == Filesystem::kXfs    ? "-m reflink=0"
                                                 : "";
  for (char c : s.mount_options)
    if (c == ' ' || c == '\t' || c == '\n')
      return refuse(field, "mount_options",
                    "\"" + setup.mount_options() + "\" has white space; options are comma-separated");
  return s;
}

std::string storage_text(const Storage& s) {
  if (s.device == Device::kNone) return "no disk (/mnt is a directory of the initramfs)";
  const std::string dev = s.device == Device::kPmem ? "pmem (/dev/pmem0)" : std::string("virtio_blk (") +
                                                                                kVirtioBlkDevice + ")";
  if (s.fs == Filesystem::kNone) return dev + ", left unformatted and unmounted";
  return std::string(filesystem_name(s.fs)) + " on " + dev +
         (s.mount_options.empty() ? "" : ", -o " + s.mount_options);
}

}  // namespace racerig::agent
