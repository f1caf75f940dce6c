// The state directory's lock (see state_lock.h).
#include "rig/service/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace racerig::service {

namespace {

// The first line of the lock file (the holder's pid), or "" if unreadable.
std::string holder_of(int fd) {
  char buf[64] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string text(buf, static_cast<size_t>(n));
  if (size_t nl = text.find('\n'); nl != std::string::npos) text.erase(nl);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return "";
  return text;
}

}  // namespace

Result<StateLock> StateLock::acquire(const std::filesystem::path& state_dir) {
  const std::filesystem::path path = state_dir / kFileName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return make_error(ErrorKind::kIo, "opening the state lock " + path.string() + ": " + std::strerror(errno));
  StateLock lock(fd, path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK)
      return make_error(ErrorKind::kIo, "locking " + path.string() + ": " + std::strerror(err));
    const std::string pid = holder_of(fd);
    return make_error(ErrorKind::kIo, "the state directory " + state_dir.string() + " is already in use by " +
                                          (pid.empty() ? std::string("another racerigd") : "racerigd pid " + pid) +
                                          " (it holds " + path.string() +
                                          "); stop that one or give this one another --state");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::fchmod(fd, 0600) != 0 || ::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    return make_error(ErrorKind::kIo, "writing our pid into " + path.string() + ": " + std::strerror(errno));
  return lock;
}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace racerig::service
