// The VM backend of a run: the one place that knows both backends (the
// direct QEMU process, the default, and a transient libvirt domain) and
// starts one of them behind machine::Machine; and how the choice is named.
#pragma once

#include <memory>
#include <string>

#include "rig/base/result.h"
#include "rig/machine/machine.h"
#include "rig/machine/vm_config.h"
#include "rig/run/run.h"

namespace racerig::run {

// The URI the libvirt backend uses for `options`: options.libvirt_uri, or
// the embedded driver under the kernel cache's root.
std::string libvirt_uri_of(const RunOptions& options);

// The options' backend as start-up lines show it: "qemu", or "libvirt (URI)"
// with the URI libvirt_uri_of gives.
std::string backend_label(const RunOptions& options);

// Starts the VM of `cfg` on the options' backend. The deadline covers the
// start itself: 30 s for QEMU; for libvirt longer, since the first use of an
// embedded root probes QEMU's capabilities (about a minute here) and a root
// held by another racerig is waited for.
Result<std::unique_ptr<machine::Machine>> start_machine(const machine::VmConfig& cfg, const RunOptions& options);

}  // namespace racerig::run
