// libvirt errors as racerig Errors (see error.h).
#include "rig/libvirt/error.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

namespace racerig::libvirt {

namespace {
void ignore_error(void*, virErrorPtr) {}
}  // namespace

void quiet_libvirt_errors() { virSetErrorFunc(nullptr, ignore_error); }

ErrorKind kind_of_libvirt_code(int code) {
  switch (code) {
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_XML_DETAIL:
    case VIR_ERR_INVALID_ARG:
    case VIR_ERR_CONFIG_UNSUPPORTED:
    case VIR_ERR_NO_SUPPORT:
    case VIR_ERR_INVALID_CONN:
    case VIR_ERR_NO_CONNECT:
      return ErrorKind::kInput;
    case VIR_ERR_OPERATION_TIMEOUT:
    case VIR_ERR_AGENT_UNRESPONSIVE:
      return ErrorKind::kTimeout;
    default:
      return ErrorKind::kIo;
  }
}

Error last_error(const std::string& what) {
  virErrorPtr err = virGetLastError();
  if (err == nullptr || err->code == VIR_ERR_OK)
    return make_error(ErrorKind::kIo, what + ": libvirt failed without saying why");
  std::string message = err->message != nullptr ? err->message : "(no message)";
  Error e = make_error(kind_of_libvirt_code(err->code),
                       what + ": " + message + " (libvirt error " + std::to_string(err->code) + ")");
  virResetLastError();
  return e;
}

}  // namespace racerig::libvirt
