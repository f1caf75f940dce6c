// UNIX socket addresses (see unix_socket.h).
#include "rig/base/unix_socket.h"

#include <cstring>
#include <string>

namespace racerig {

Result<sockaddr_un> unix_address(std::string_view path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return make_error(ErrorKind::kInput, "socket path too long: " + std::string(path));
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

}  // namespace racerig
