// The VM backends a run can use, by the names the CLI and racerigd give
// them (--backend). Which one starts a VM is rig/run/backend.h's choice.
#pragma once

#include <string_view>

#include "rig/base/result.h"

namespace racerig::machine {

enum class Backend {
  kQemu,     // the direct QEMU process (rig/qemu), the default
  kLibvirt,  // a transient libvirt domain (rig/libvirt)
};

// "qemu" or "libvirt"; anything else is kInput naming the value
// ("--backend xen: expected qemu or libvirt").
Result<Backend> parse_backend(std::string_view name);
// "qemu" or "libvirt".
const char* backend_name(Backend backend);

}  // namespace racerig::machine
