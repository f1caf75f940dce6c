// racerigd's UNIX socket: its default path, shared by the daemon and the
// CLI, and whether a socket's directory can be trusted. A socket in a
// directory that someone else can write could be theirs: a client would
// hand it its token, a daemon would serve behind a name another user owns.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "rig/base/result.h"

namespace racerig::client {

// The default socket for a process of `uid` whose $XDG_RUNTIME_DIR is
// `runtime_dir` (empty: unset): /run/racerigd/racerigd.sock for root, else
// RUNTIME_DIR/racerigd.sock when that directory is owned by `uid` and
// neither group nor others may write it. Otherwise kInput saying why and to
// pass --server unix:PATH (racerigd: --socket PATH). Never a path in a
// world-writable directory such as /tmp.
Result<std::string> default_socket_path_for(uid_t uid, const std::string& runtime_dir);
// default_socket_path_for(geteuid(), $XDG_RUNTIME_DIR).
Result<std::string> default_socket_path();

// Whether a process of `uid` may trust the UNIX socket `socket` by where it
// is. kInput naming the directory, its mode and owner, when group or others
// may write that directory and it is not sticky (anyone there can replace
// the socket), or when it is sticky, others may write it, and the socket
// exists owned by neither root nor `uid` (someone else made it first). A
// directory or socket that does not exist yet is fine here (connecting to
// it fails on its own).
Status check_socket_dir(const std::filesystem::path& socket, uid_t uid);

}  // namespace racerig::client
