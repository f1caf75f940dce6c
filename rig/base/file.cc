// Whole-file reading and writing (see file.h).
#include "rig/base/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "rig/base/scoped_fd.h"

namespace racerig {

namespace {

// Writes all of `text` to `fd`; false with errno set on failure.
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;
      return false;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

Status write_to(const std::filesystem::path& path, std::string_view text, bool durable) {
  const std::string what = "writing " + path.string();
  ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error(what);
  if (!write_all(fd.get(), text)) return errno_error(what);
  if (durable && ::fsync(fd.get()) != 0) return errno_error(what);
  if (::close(fd.release()) != 0) return errno_error(what);
  return Status::Ok();
}

}  // namespace

Result<std::string> read_file(const std::filesystem::path& path, size_t max_bytes) {
  return read_file(path, std::string_view(), max_bytes);
}

Result<std::string> read_file(const std::filesystem::path& path, std::string_view role, size_t max_bytes) {
  const std::string what = "reading " + (role.empty() ? "" : std::string(role) + " ") + path.string();
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(what);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(what);
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > max_bytes)
      return make_error(ErrorKind::kIo, what + ": larger than " + std::to_string(max_bytes) + " bytes");
    out.append(buf, static_cast<size_t>(n));
  }
}

Status write_file(const std::filesystem::path& path, std::string_view text, bool durable) {
  return write_to(path, text, durable);
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view text, bool durable) {
  const std::filesystem::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
  if (Status s = write_to(tmp, text, durable); !s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("renaming " + tmp.string() + " to " + path.string());
    ::unlink(tmp.c_str());
    return e;
  }
  return Status::Ok();
}

}  // namespace racerig
