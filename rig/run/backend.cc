// VM backends (see backend.h).
#include "rig/run/backend.h"

#include "rig/kbuild/cache.h"
#include "rig/libvirt/connection.h"
#include "rig/libvirt/libvirt_vm.h"

namespace racerig::run {

using std::chrono::milliseconds;

Result<RunOptions::Backend> parse_backend(std::string_view name) {
  if (name == "qemu") return RunOptions::Backend::kQemu;
  if (name == "libvirt") return RunOptions::Backend::kLibvirt;
  return make_error(ErrorKind::kInput, "--backend " + std::string(name) + ": expected qemu or libvirt");
}

const char* backend_name(RunOptions::Backend backend) {
  return backend == RunOptions::Backend::kLibvirt ? "libvirt" : "qemu";
}

std::string libvirt_uri_of(const RunOptions& options) {
  return options.libvirt_uri.empty() ? libvirt::default_uri(kbuild::default_cache_root()) : options.libvirt_uri;
}

Result<std::unique_ptr<vm::Machine>> start_machine(const vm::VmConfig& cfg, const RunOptions& options) {
  if (options.backend == RunOptions::Backend::kLibvirt) {
    RACERIG_ASSIGN(auto vm, libvirt::LibvirtVm::start(cfg, libvirt_uri_of(options), Deadline::after(milliseconds(600000))));
    return std::unique_ptr<vm::Machine>(std::move(vm));
  }
  RACERIG_ASSIGN(auto vm, vm::Vm::start(cfg, Deadline::after(milliseconds(30000))));
  return std::unique_ptr<vm::Machine>(std::move(vm));
}

}  // namespace racerig::run
