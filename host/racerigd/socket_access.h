// Who may connect to racerigd's UNIX socket: its mode (--socket-mode) and
// group (--socket-group). Without tokens every caller on the socket is an
// admin, so the socket's mode is its access control.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "rig/base/result.h"

namespace racerig::racerigd {

// --socket-mode's value: octal digits ("0660", "660") with read and write
// bits only (no execute, setuid, setgid or sticky bits). kInput naming the
// value otherwise.
Result<mode_t> parse_socket_mode(const std::string& text);

// The gid of group `name`. kInput naming it when there is no such group.
Result<gid_t> group_id(const std::string& name);

// Gives `socket` mode `mode` and, when `group` is set (>= 0), that group
// (the owner stays). kIo naming the socket and the call that failed (a
// group we are not a member of, unless we are root).
Status set_socket_access(const std::filesystem::path& socket, mode_t mode, gid_t group = static_cast<gid_t>(-1));

}  // namespace racerig::racerigd
