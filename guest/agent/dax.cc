// DAX flag and state: ioctls and statx.
#include "guest/agent/dax.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rig/base/scoped_fd.h"

namespace racerig::agent {

OpStatus read_xflag_dax(int fd, const std::string& path, bool* dax) {
  struct fsxattr fa {};
  if (::ioctl(fd, FS_IOC_FSGETXATTR, &fa) != 0) return OpStatus::sys("FS_IOC_FSGETXATTR " + path);
  *dax = (fa.fsx_xflags & FS_XFLAG_DAX) != 0;
  return OpStatus::success();
}

OpStatus write_xflag_dax(int fd, const std::string& path, bool enable) {
  struct fsxattr fa {};
  if (::ioctl(fd, FS_IOC_FSGETXATTR, &fa) != 0) return OpStatus::sys("FS_IOC_FSGETXATTR " + path);
  if (enable) {
    fa.fsx_xflags |= FS_XFLAG_DAX;
  } else {
    fa.fsx_xflags &= ~static_cast<uint32_t>(FS_XFLAG_DAX);
  }
  if (::ioctl(fd, FS_IOC_FSSETXATTR, &fa) != 0)
    return OpStatus::sys(std::string("FS_IOC_FSSETXATTR ") + (enable ? "setting" : "clearing") + " FS_XFLAG_DAX on " +
                         path);
  return OpStatus::success();
}

OpStatus read_dax_state(const std::string& path, DaxState* out) {
  struct statx stx {};
  if (::statx(AT_FDCWD, path.c_str(), AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, &stx) != 0)
    return OpStatus::sys("statx " + path);
  out->statx_attributes = stx.stx_attributes;
  out->statx_dax = (stx.stx_attributes & kStatxAttrDax) != 0;
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return OpStatus::sys("opening " + path + " to read FS_XFLAG_DAX");
  struct fsxattr fa {};
  if (::ioctl(fd.get(), FS_IOC_FSGETXATTR, &fa) != 0) {
    int e = errno;
    if (e == ENOTTY || e == EOPNOTSUPP || e == EINVAL) {
      out->xflag_known = false;
      out->note = std::string("FS_IOC_FSGETXATTR unsupported here: ") + std::strerror(e);
      return OpStatus::success();
    }
    return OpStatus::sys_errno(e, "FS_IOC_FSGETXATTR " + path);
  }
  out->xflag_known = true;
  out->xflag_dax = (fa.fsx_xflags & FS_XFLAG_DAX) != 0;
  return OpStatus::success();
}

}  // namespace racerig::agent
