// CpioWriter: builds a newc ("070701") cpio archive in memory, the format
// the kernel unpacks into its initial rootfs. Concatenated archives are
// unpacked one after the other, later entries replacing earlier ones.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "rig/base/result.h"

namespace racerig::initramfs {

class CpioWriter {
 public:
  // Paths are absolute or relative to the archive root ("/dev/console" and
  // "dev/console" are the same entry; stored without the leading '/').
  // Missing parent directories are added first (mode 0755). A path that is
  // empty, has an empty, "." or ".." component or a NUL is kInput.
  Status add_directory(std::string_view path, uint32_t mode = 0755);
  Status add_file(std::string_view path, std::string_view data, uint32_t mode = 0644);
  Status add_symlink(std::string_view path, std::string_view target);
  Status add_char_device(std::string_view path, uint32_t major, uint32_t minor, uint32_t mode = 0600);

  // Appends the TRAILER!!! entry and returns the archive (its size is a
  // multiple of 4, so another archive can follow). The writer is then empty.
  std::string finish();

 private:
  Result<std::string> normalize(std::string_view path) const;
  Status add_parents(const std::string& path);
  void entry(const std::string& name, uint32_t mode, uint32_t nlink, uint32_t rdev_major, uint32_t rdev_minor,
             std::string_view data);

  std::string out_;
  std::set<std::string> dirs_;
  uint32_t next_ino_ = 1;
};

}  // namespace racerig::initramfs
