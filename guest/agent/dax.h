// The two DAX bits of a file: FS_XFLAG_DAX (the persistent inode flag, via
// FS_IOC_FSGETXATTR/FS_IOC_FSSETXATTR) and STATX_ATTR_DAX (S_DAX on the
// in-core inode, via statx).
#pragma once

#include <cstdint>
#include <string>

#include "guest/agent/op_status.h"

namespace racerig::agent {

inline constexpr uint64_t kStatxAttrDax = 0x200000;  // STATX_ATTR_DAX

struct DaxState {
  uint64_t statx_attributes = 0;
  bool statx_dax = false;
  bool xflag_dax = false;
  bool xflag_known = false;  // false if the filesystem has no FS_IOC_FSGETXATTR
  std::string note;          // why xflag is unknown
};

// Reads FS_XFLAG_DAX of an open file.
OpStatus read_xflag_dax(int fd, const std::string& path, bool* dax);

// Sets or clears FS_XFLAG_DAX of an open file (read, modify, write the
// fsxattr). Fails with the ioctl's errno.
OpStatus write_xflag_dax(int fd, const std::string& path, bool enable);

// statx(path) and, when the filesystem supports it, FS_XFLAG_DAX. The xflag
// read does not fail the call when unsupported (ENOTTY, EOPNOTSUPP): it is
// reported as unknown.
OpStatus read_dax_state(const std::string& path, DaxState* out);

}  // namespace racerig::agent
