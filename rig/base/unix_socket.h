// The address of a UNIX stream socket named by a path: the one place that
// checks the path fits sockaddr_un (108 bytes on Linux).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string_view>

#include "rig/base/result.h"

namespace racerig {

// The AF_UNIX address of `path`, for bind() or connect() with
// sizeof(sockaddr_un). Fails (kInput) with "socket path too long: PATH" when
// the path and its terminating NUL do not fit sun_path.
Result<sockaddr_un> unix_address(std::string_view path);

}  // namespace racerig
