// A run's VM and its gdbstub: the QEMU options every VM of a context shares,
// starting the VM through the context's backend, connecting the gdbstub,
// and how a VM that ended says so in a message.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "proto/racerig.pb.h"
#include "guest/initramfs/initramfs.h"
#include "rig/base/result.h"
#include "guest/initramfs/initramfs.h"
#include "rig/gdbremote/client.h"
#include "rig/machine/machine.h"
#include "rig/machine/vm_config.h"
#include "rig/qemu/vm.h"
#include "rig/run/rsp_target.h"
#include "rig/run/run.h"

namespace racerig::run {

// The NVDIMM's size in MiB, the same for every VM (templates and snapshots
// are keyed by it).
constexpr int kPmemMb = 512;

// One QEMU with its gdbstub connection.
struct Live {
  std::unique_ptr<machine::Machine> vm;
  // The same VM when the direct backend started it (migration needs its
  // QMP); null under libvirt.
  qemu::Vm* qemu = nullptr;
  std::unique_ptr<gdbremote::Client> client;
  std::unique_ptr<RspTarget> target;
};

// The QEMU options every VM of this context shares (no initrd, no NVDIMM
// image choice).
// The virtio-blk disk the scenario's setup {} asks for, in MiB (0: none).
int disk_mb(const RunContext& ctx);
machine::VmConfig vm_config(const RunContext& ctx);

// Starts the VM with `cfg` through the context's backend (the VM stays
// stopped; the gdbstub is not connected yet). Errors say "starting QEMU".
Result<Live> start_live_with(const RunContext& ctx, const machine::VmConfig& cfg);

// The direct QEMU of `live`, which the incoming restore path needs; kInput
// under libvirt.
Result<qemu::Vm*> direct_qemu(Live& live);

// Connects the gdbstub of a stopped VM and does the handshake (10 s each).
Status connect_gdb(const RunContext& ctx, Live& live);

// A stopped VM for `plan` (its initramfs written), gdbstub connected;
// `pmem_template` empty: a blank NVDIMM.
Result<Live> start_live(const RunContext& ctx, const pb::GuestPlan& plan, bool snapshot_drive,
                        const std::filesystem::path& pmem_template);

// "; console tail:\n<the console's last lines>", or that it said nothing.
// The files a run packs next to its plan: the scenario's programs at
// /racerig/programs/<name>.
std::vector<initramfs::RunFile> run_files(const RunContext& ctx);

std::string console_tail(const machine::Machine& vm);

// "<what>: <how QEMU ended>" and the console's tail.
std::string ended_text(const std::string& what, const machine::Machine& vm);

}  // namespace racerig::run
