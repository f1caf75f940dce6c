// The NVDIMM template (see pmem_template.h).
#include "rig/run/pmem_template.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>

#include "rig/base/sha256.h"
#include "rig/kbuild/cache.h"
#include "rig/machine/sparse_copy.h"
#include "rig/qemu/vm.h"
#include "guest/agent/storage.h"
#include "rig/run/guest_monitor.h"
#include "rig/run/guest_wait.h"
#include "rig/run/live_vm.h"

namespace racerig::run {

namespace {

// A template holds a file system made on the NVDIMM: only for one on pmem.
bool wants_template(const RunContext& ctx) {
  auto storage = agent::resolve_storage(ctx.scenario.scenario.workload().setup());
  return ctx.options.pmem_template && storage.ok() && storage->device == agent::Device::kPmem && storage->mounted();
}

}  // namespace

std::filesystem::path pmem_template_path(const RunContext& ctx) {
  std::string key = "racerig pmem template v1\n" + ctx.kernel.build_id + "\n" + ctx.base_initramfs.filename().string() +
                    "\n" + std::to_string(kPmemMb) + "\n" + std::to_string(ctx.options.cpus) + "\n";
  ctx.scenario.scenario.workload().setup().AppendToString(&key);
  return ctx.options.work_dir / "pmem-templates" / (sha256_hex(key).substr(0, 24) + ".img");
}

Result<PmemTemplate> ensure_pmem_template(const RunContext& ctx, const Progress& progress) {
  namespace fs = std::filesystem;
  const pb::GuestSetup& setup = ctx.scenario.scenario.workload().setup();
  const fs::path path = pmem_template_path(ctx);
  const fs::path dir = path.parent_path();
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return PmemTemplate{path, false};
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorKind::kIo, "creating " + dir.string() + ": " + ec.message());

  progress("making the NVDIMM template (fsdax, mkfs.xfs; once per kernel and set-up)");
  pb::GuestPlan plan;
  *plan.mutable_workload()->mutable_setup() = setup;
  plan.set_make_template(true);
  RACERIG_ASSIGN(Live live, start_live(ctx, plan, false, {}));
  machine::Machine& vm = *live.vm;
  VmMonitor monitor(vm, ctx.scenario.scenario.expect());
  RACERIG_TRY(live.target->resume(all_vcpus(ctx.options.cpus), Deadline::after(milliseconds(5000))));
  const auto boot_deadline = Deadline::after_seconds(deadline_s(ctx.scenario.scenario.deadlines().boot_s(), 120));
  RACERIG_ASSIGN(
      bool ended,
      wait_running(
          *live.target, monitor, boot_deadline,
          [&] { return monitor.done() || monitor.fatal() || vm.exited() || monitor.decisive_oops_complete(); },
          ctx.options.cpus));
  if (!monitor.done()) {
    std::string why = !ended ? "the guest did not finish within the boot deadline" : "the guest ended without DONE";
    for (const auto& e : monitor.events())
      if (e.kind() == pb::AgentEvent::FATAL) why = "the agent failed: " + e.message();
    (void)vm.shutdown(Deadline::after(milliseconds(10000)));
    return make_error(ErrorKind::kIo, ended_text(why, vm));
  }
  // The agent powers off after DONE: once QEMU is gone the image is whole.
  RACERIG_ASSIGN(bool exited, wait_running(
                                  *live.target, monitor, Deadline::after(milliseconds(30000)),
                                  [&] { return vm.exited(); }, ctx.options.cpus));
  if (!exited || !vm.wait_exit(Deadline::after(milliseconds(10000))).ok()) {
    (void)vm.shutdown(Deadline::after(milliseconds(10000)));
    return make_error(ErrorKind::kTimeout, "the guest did not power off after making the template");
  }
  // Several racerig processes may race to make the same template: each
  // copies to its own name, and the rename is atomic.
  const fs::path mine = path.string() + "." + std::to_string(::getpid()) + ".new";
  Status copied = machine::copy_sparse(vm.pmem_image_path(), mine);
  (void)vm.shutdown(Deadline::after(milliseconds(10000)));
  RACERIG_TRY(copied);
  if (::rename(mine.c_str(), path.c_str()) != 0) {
    Error e = errno_error("renaming " + mine.string() + " to " + path.string());
    fs::remove(mine, ec);
    return e;
  }
  return PmemTemplate{path, true};
}

Result<std::filesystem::path> template_for_run(const RunContext& ctx, const Progress& progress, Phases& phases,
                                               bool make_if_missing) {
  if (!wants_template(ctx)) return std::filesystem::path();
  if (!make_if_missing) {
    std::error_code ec;
    const std::filesystem::path p = pmem_template_path(ctx);
    return std::filesystem::is_regular_file(p, ec) ? p : std::filesystem::path();
  }
  auto t = ensure_pmem_template(ctx, progress);
  if (!t.ok()) return t.error().wrap("making the NVDIMM template");
  if (t->made) phases.mark("template");
  return t->path;
}

}  // namespace racerig::run
