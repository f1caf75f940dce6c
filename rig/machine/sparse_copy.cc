// Sparse copies (see sparse_copy.h).
#include "rig/machine/sparse_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "rig/base/scoped_fd.h"

namespace racerig::machine {

namespace fs = std::filesystem;

Status copy_sparse(const fs::path& from, const fs::path& to) {
  ScopedFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return errno_error("opening " + from.string());
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) return errno_error("stat " + from.string());
  const fs::path tmp = to.string() + ".tmp";
  ScopedFd out(::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600));
  if (!out.valid()) return errno_error("creating " + tmp.string());
  auto fail = [&](const std::string& what) {
    Error e = errno_error(what);
    std::error_code ec;
    fs::remove(tmp, ec);
    return e;
  };
  if (::ioctl(out.get(), FICLONE, in.get()) != 0) {
    // No reflinks here: copy the data extents and leave the holes.
    if (::ftruncate(out.get(), st.st_size) != 0) return fail("sizing " + tmp.string());
    off_t pos = 0;
    while (pos < st.st_size) {
      off_t data = ::lseek(in.get(), pos, SEEK_DATA);
      if (data < 0) {
        if (errno == ENXIO) break;  // only a hole is left
        return fail("seeking data in " + from.string());
      }
      off_t hole = ::lseek(in.get(), data, SEEK_HOLE);
      if (hole < 0) return fail("seeking a hole in " + from.string());
      off_t src = data, dst = data;
      while (src < hole) {
        ssize_t n = ::copy_file_range(in.get(), &src, out.get(), &dst, static_cast<size_t>(hole - src), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("copying " + from.string() + " to " + tmp.string());
        if (n == 0) return fail("copying " + from.string() + ": it shrank while being copied");
      }
      pos = hole;
    }
  }
  if (::close(out.release()) != 0) return fail("closing " + tmp.string());
  if (::rename(tmp.c_str(), to.c_str()) != 0) return fail("renaming " + tmp.string() + " to " + to.string());
  return Status::Ok();
}

}  // namespace racerig::machine
