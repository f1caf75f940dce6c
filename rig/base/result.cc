// Error helpers.
#include "rig/base/result.h"

#include <cerrno>
#include <cstring>

namespace racerig {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInput: return "input error";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kProtocol: return "protocol error";
    case ErrorKind::kIo: return "I/O error";
    case ErrorKind::kBuild: return "build error";
    case ErrorKind::kInternal: return "internal error";
    case ErrorKind::kCancelled: return "interrupted";
  }
  return "error";
}

Error errno_error(const std::string& what) {
  int saved = errno;
  return Error{ErrorKind::kIo, what + ": " + std::strerror(saved)};
}

}  // namespace racerig
