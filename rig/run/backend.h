// The VM backend of a run: the direct QEMU process (the default) or a
// transient libvirt domain, behind vm::Machine; and the names the CLI uses.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "rig/base/result.h"
#include "rig/qemu/machine.h"
#include "rig/qemu/vm.h"
#include "rig/run/run.h"

namespace racerig::run {

// "qemu" or "libvirt"; anything else is kInput naming the value.
Result<RunOptions::Backend> parse_backend(std::string_view name);
const char* backend_name(RunOptions::Backend backend);

// The URI the libvirt backend uses for `options`: options.libvirt_uri, or
// the embedded driver under the kernel cache's root.
std::string libvirt_uri_of(const RunOptions& options);

// Starts the VM of `cfg` on the options' backend. The deadline covers the
// start itself: 30 s for QEMU; for libvirt longer, since the first use of an
// embedded root probes QEMU's capabilities (about a minute here) and a root
// held by another racerig is waited for.
Result<std::unique_ptr<vm::Machine>> start_machine(const vm::VmConfig& cfg, const RunOptions& options);

}  // namespace racerig::run
