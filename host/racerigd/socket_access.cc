// racerigd's socket mode and group (see socket_access.h).
#include "host/racerigd/socket_access.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace racerig::racerigd {

Result<mode_t> parse_socket_mode(const std::string& text) {
  const std::string what = "--socket-mode \"" + text + "\": ";
  if (text.empty() || text.size() > 4 || text.find_first_not_of("01234567") != std::string::npos)
    return make_error(ErrorKind::kInput, what + "want octal digits such as 0660");
  const auto mode = static_cast<mode_t>(std::stoul(text, nullptr, 8));
  if ((mode & ~static_cast<mode_t>(0666)) != 0)
    return make_error(ErrorKind::kInput, what + "only read and write bits (0666 at most) mean anything on a socket");
  return mode;
}

Result<gid_t> group_id(const std::string& name) {
  std::vector<char> buf(16384);
  struct group g {};
  struct group* found = nullptr;
  const int rc = ::getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found);
  if (rc != 0) return make_error(ErrorKind::kInput, "--socket-group " + name + ": " + std::strerror(rc));
  if (found == nullptr) return make_error(ErrorKind::kInput, "--socket-group " + name + ": no such group");
  return found->gr_gid;
}

Status set_socket_access(const std::filesystem::path& socket, mode_t mode, gid_t group) {
  if (group != static_cast<gid_t>(-1) && ::chown(socket.c_str(), static_cast<uid_t>(-1), group) != 0)
    return make_error(ErrorKind::kIo, "chgrp " + std::to_string(group) + " " + socket.string() + ": " +
                                          std::strerror(errno));
  if (::chmod(socket.c_str(), mode) != 0)
    return make_error(ErrorKind::kIo, "chmod " + socket.string() + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace racerig::racerigd
