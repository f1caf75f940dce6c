// A run's VM and its gdbstub (see live_vm.h).
#include "rig/run/live_vm.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "guest/agent/plan.h"
#include "guest/agent/storage.h"
#include "guest/initramfs/initramfs.h"
#include "rig/base/text.h"
#include "rig/run/backend.h"

namespace racerig::run {

using std::chrono::milliseconds;

machine::VmConfig vm_config(const RunContext& ctx) {
  machine::VmConfig cfg;
  cfg.qemu = ctx.options.qemu;
  cfg.bzimage = ctx.kernel.bzimage;
  cfg.append = ctx.options.append;
  cfg.cpus = ctx.options.cpus;
  cfg.memory_mb = ctx.options.memory_mb;
  cfg.kvm = ctx.options.kvm;
  cfg.start_paused = true;
  cfg.pmem_mb = kPmemMb;
  cfg.disk_mb = disk_mb(ctx);
  return cfg;
}

int disk_mb(const RunContext& ctx) {
  // The scenario was checked when it was loaded; a setup that does not
  // resolve here has no disk (and the agent says why it cannot set it up).
  auto storage = agent::resolve_storage(ctx.scenario.scenario.workload().setup());
  return storage.ok() && storage->device == agent::Device::kVirtioBlk ? agent::kVirtioDiskMb : 0;
}

Result<Live> start_live_with(const RunContext& ctx, const machine::VmConfig& cfg) {
  Live live;
  auto started = start_machine(cfg, ctx.options);
  if (!started.ok()) return started.error().wrap("starting QEMU");
  live.vm = std::move(*started);
  live.qemu = dynamic_cast<qemu::Vm*>(live.vm.get());
  return live;
}

Result<qemu::Vm*> direct_qemu(Live& live) {
  if (live.qemu == nullptr)
    return make_error(ErrorKind::kInput, "the incoming restore needs the direct QEMU backend (--backend qemu)");
  return live.qemu;
}

Status connect_gdb(const RunContext& ctx, Live& live) {
  auto conn = gdbremote::Connection::connect_unix(live.vm->gdb_socket_path(), Deadline::after(milliseconds(10000)));
  if (!conn.ok()) return conn.error().wrap("connecting to the gdbstub");
  live.client = std::make_unique<gdbremote::Client>(std::move(*conn));
  if (Status s = live.client->handshake(Deadline::after(milliseconds(10000))); !s.ok())
    return s.error().wrap("gdbstub handshake");
  live.target = std::make_unique<RspTarget>(*live.client, *live.vm, ctx.options.cpus);
  return Status::Ok();
}

Result<Live> start_live(const RunContext& ctx, const pb::GuestPlan& plan, bool snapshot_drive,
                        const std::filesystem::path& pmem_template) {
  RACERIG_ASSIGN(auto initrd, initramfs::write_run_initramfs(ctx.base_initramfs, plan, run_files(ctx)));
  machine::VmConfig cfg = vm_config(ctx);
  cfg.initrd = initrd.path();
  cfg.snapshot_drive = snapshot_drive;
  cfg.pmem_template = pmem_template;
  RACERIG_ASSIGN(Live live, start_live_with(ctx, cfg));
  RACERIG_TRY(connect_gdb(ctx, live));
  return live;
}

std::vector<initramfs::RunFile> run_files(const RunContext& ctx) {
  std::vector<initramfs::RunFile> files;
  for (const auto& p : ctx.programs) files.push_back({std::string(agent::kProgramsDir) + "/" + p.name, p.binary, 0755});
  return files;
}

std::string console_tail(const machine::Machine& vm) {
  const std::string console = last_lines(vm.console_log(), 15);
  return console.empty() ? "; the console said nothing" : "; console tail:\n" + console;
}

std::string ended_text(const std::string& what, const machine::Machine& vm) {
  std::string out = what;
  if (vm.exited() && !vm.exit_text().empty()) out += ": " + vm.exit_text();
  return out + console_tail(vm);
}

}  // namespace racerig::run
