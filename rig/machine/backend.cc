// Backend names (see backend.h).
#include "rig/machine/backend.h"

#include <string>

namespace racerig::machine {

Result<Backend> parse_backend(std::string_view name) {
  if (name == "qemu") return Backend::kQemu;
  if (name == "libvirt") return Backend::kLibvirt;
  return make_error(ErrorKind::kInput, "--backend " + std::string(name) + ": expected qemu or libvirt");
}

const char* backend_name(Backend backend) { return backend == Backend::kLibvirt ? "libvirt" : "qemu"; }

}  // namespace racerig::machine
