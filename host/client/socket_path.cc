// racerigd's socket path and its directory's check (see socket_path.h).
#include "host/client/socket_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace racerig::client {

namespace {

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

constexpr const char* kPassServer = "; pass --server unix:PATH (racerigd: --socket PATH) in a directory of yours";

}  // namespace

Result<std::string> default_socket_path_for(uid_t uid, const std::string& runtime_dir) {
  if (uid == 0) return std::string("/run/racerigd/racerigd.sock");
  if (runtime_dir.empty())
    return make_error(ErrorKind::kInput,
                      std::string("no default racerigd socket: $XDG_RUNTIME_DIR is not set (a socket in a directory "
                                  "others can write, such as /tmp, could be someone else's)") +
                          kPassServer);
  struct stat st {};
  if (::stat(runtime_dir.c_str(), &st) != 0)
    return make_error(ErrorKind::kInput, "no default racerigd socket: $XDG_RUNTIME_DIR " + runtime_dir + ": " +
                                             std::strerror(errno) + kPassServer);
  if (!S_ISDIR(st.st_mode))
    return make_error(ErrorKind::kInput,
                      "no default racerigd socket: $XDG_RUNTIME_DIR " + runtime_dir + " is not a directory" + kPassServer);
  if (st.st_uid != uid)
    return make_error(ErrorKind::kInput, "no default racerigd socket: $XDG_RUNTIME_DIR " + runtime_dir +
                                             " is owned by uid " + std::to_string(st.st_uid) + ", not by uid " +
                                             std::to_string(uid) + kPassServer);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return make_error(ErrorKind::kInput, "no default racerigd socket: $XDG_RUNTIME_DIR " + runtime_dir + " has mode " +
                                             octal(st.st_mode) + ": group or others can write it" + kPassServer);
  return runtime_dir + "/racerigd.sock";
}

Result<std::string> default_socket_path() {
  const char* run = std::getenv("XDG_RUNTIME_DIR");
  return default_socket_path_for(::geteuid(), run ? run : "");
}

Status check_socket_dir(const std::filesystem::path& socket, uid_t uid) {
  std::filesystem::path dir = socket.parent_path();
  if (dir.empty()) dir = ".";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return Status::Ok();  // not there yet
  const bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (!others_write) return Status::Ok();
  const std::string where = "the socket " + socket.string() + ": its directory " + dir.string() + " (mode " +
                            octal(st.st_mode) + ", owner uid " + std::to_string(st.st_uid) + ")";
  if ((st.st_mode & S_ISVTX) == 0)
    return make_error(ErrorKind::kInput, where + " can be written by group or others, who could replace the socket "
                                                 "with their own; use a directory only you (or root) can write");
  struct stat sock {};
  if (::lstat(socket.c_str(), &sock) != 0) return Status::Ok();  // not made yet: ours will be ours
  if (sock.st_uid != 0 && sock.st_uid != uid)
    return make_error(ErrorKind::kInput, where + " is shared, and the socket there is owned by uid " +
                                             std::to_string(sock.st_uid) + ", neither root nor uid " +
                                             std::to_string(uid) + ": refusing it");
  return Status::Ok();
}

}  // namespace racerig::client
