// VM backends (see backend.h).
#include "rig/run/backend.h"

#include "rig/kbuild/cache.h"
#include "rig/libvirt/connection.h"
#include "rig/libvirt/libvirt_vm.h"
#include "rig/machine/backend.h"
#include "rig/qemu/vm.h"

namespace racerig::run {

using std::chrono::milliseconds;

std::string libvirt_uri_of(const RunOptions& options) {
  return options.libvirt_uri.empty() ? libvirt::default_uri(kbuild::default_cache_root()) : options.libvirt_uri;
}

std::string backend_label(const RunOptions& options) {
  if (options.backend != machine::Backend::kLibvirt) return machine::backend_name(options.backend);
  return std::string(machine::backend_name(options.backend)) + " (" + libvirt_uri_of(options) + ")";
}

Result<std::unique_ptr<machine::Machine>> start_machine(const machine::VmConfig& cfg, const RunOptions& options) {
  if (options.backend == machine::Backend::kLibvirt) {
    RACERIG_ASSIGN(auto vm,
                   libvirt::LibvirtVm::start(cfg, libvirt_uri_of(options), Deadline::after(milliseconds(600000))));
    return std::unique_ptr<machine::Machine>(std::move(vm));
  }
  RACERIG_ASSIGN(auto vm, qemu::Vm::start(cfg, Deadline::after(milliseconds(30000))));
  return std::unique_ptr<machine::Machine>(std::move(vm));
}

}  // namespace racerig::run
