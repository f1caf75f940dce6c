// Device state in and out of a QEMU by migration, for ready-state snapshots
// whose memory lives in files: the VM that makes the ready state maps guest
// RAM and the NVDIMM from files with share=on and saves only the device
// state (the x-ignore-shared capability leaves shared RAM out of the
// stream); a run's VM maps the same files with share=off (copy-on-write)
// and takes that stream with -incoming defer. QEMU 7.2's sandbox
// (spawn=deny) forbids exec: URIs, so both ends use a UNIX socket in the
// run dir that racerig serves from or into a file.
#pragma once

#include <filesystem>

#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/qemu/vm.h"

namespace racerig::qemu {

// Saves the device state of a stopped VM (its vCPUs stopped, e.g. by the
// gdbstub) whose RAM and NVDIMM are shared file mappings to `out` (created
// or replaced). kIo quoting QEMU's error when the migration fails, kTimeout
// at the deadline. The VM is left stopped ("postmigrate").
Status save_device_state(Vm& vm, const std::filesystem::path& out, Deadline deadline);

// Loads a stream written by save_device_state into a VM started with
// VmConfig::incoming and the same machine options, memory files mapped
// copy-on-write. On success the VM is paused in the saved state. kInput for
// a missing or empty file; kIo quoting QEMU when it rejects the stream.
Status load_device_state(Vm& vm, const std::filesystem::path& in, Deadline deadline);

}  // namespace racerig::qemu
