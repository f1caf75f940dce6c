// Guarded configuration files (see guarded_file.h).
#include "rig/service/guarded_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace racerig::service {

Result<std::string> read_guarded_file(const std::filesystem::path& path, const std::string& what, bool secret) {
  const std::string where = what + " " + path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return make_error(ErrorKind::kInput, where + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error(ErrorKind::kInput, where + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return make_error(ErrorKind::kInput, where + ": not a regular file");
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    return make_error(ErrorKind::kInput, where + " is owned by uid " + std::to_string(st.st_uid) +
                                             ", neither root nor racerigd's user (uid " + std::to_string(::geteuid()) +
                                             "), who could change it; refusing it (chown it)");
  const mode_t forbidden = secret ? (S_IRWXG | S_IRWXO) : (S_IWGRP | S_IWOTH);
  if ((st.st_mode & forbidden) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(ErrorKind::kInput,
                      where + " has mode " + mode +
                          (secret ? ": group or others can read or change it; refusing it (chmod 600 "
                                  : ": group or others can change it; refusing it (chmod 644 ") +
                          path.string() + ")");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(ErrorKind::kInput, where + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1 << 20)) return make_error(ErrorKind::kInput, where + ": over 1 MiB; refusing it");
  }
  return text;
}

}  // namespace racerig::service
