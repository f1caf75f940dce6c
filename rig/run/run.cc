// One forced run and the run context (see run.h).
#include "rig/run/run.h"

#include <optional>

#include <memory>
#include <string>
#include <utility>

#include "guest/initramfs/initramfs.h"
#include "rig/dwarf/current_task.h"
#include "rig/dwarf/symbols.h"
#include "rig/process/identity.h"
#include "rig/run/boot.h"
#include "rig/run/enforce.h"
#include "rig/run/judge.h"
#include "rig/run/kept_logs.h"
#include "rig/run/live_vm.h"
#include "rig/run/pmem_template.h"
#include "rig/run/run_state.h"

namespace racerig::run {

Result<RunContext> prepare_run(const KernelFiles& kernel, std::shared_ptr<const dwarf::Symbols> syms,
                               scenario::LoadedScenario loaded, const RunOptions& options) {
  RunContext ctx;
  ctx.kernel = kernel;
  ctx.symbols = syms;
  ctx.options = options;
  if (ctx.options.cpus <= 0) ctx.options.cpus = loaded.vcpus;
  if (ctx.options.cpus <= 0)
    return make_error(ErrorKind::kInput, "scenario " + loaded.path.string() +
                                             ": no vCPU count (neither asked for nor set by load_scenario)");
  if (ctx.options.memory_mb <= 0) ctx.options.memory_mb = scenario::machine_memory_mb(loaded.scenario);
  // Explored points (a line within a function, as explore names them) are
  // looked up in the scenario's explore window, read once.
  std::optional<std::vector<dwarf::WindowAddress>> window;
  auto resolver = [&](const pb::CodePoint& point) -> Result<scenario::ResolvedPoint> {
    if (point.function().empty()) {
      RACERIG_ASSIGN(auto p, syms->resolve(point.symbol().empty() ? point.line() : point.symbol()));
      return scenario::ResolvedPoint{p.addr, p.function, p.offset, p.addrs};
    }
    const pb::Explore& ex = loaded.scenario.explore();
    if (ex.functions().empty() && ex.lines().empty())
      return make_error(ErrorKind::kInput, "an explored point (line within function) needs the scenario's explore {} window");
    if (!window) {
      RACERIG_ASSIGN(auto w, syms->window({ex.functions().begin(), ex.functions().end()},
                                          {ex.lines().begin(), ex.lines().end()}));
      window = std::move(w);
    }
    scenario::ResolvedPoint p;
    for (const auto& a : *window)
      if (a.function == point.function() && a.file + ":" + std::to_string(a.line) == point.line()) p.addrs.push_back(a.addr);
    if (p.addrs.empty())
      return make_error(ErrorKind::kInput, "no address of the explore window is " + point.function() + " " +
                                               point.line() + " in " + syms->path());
    p.addr = p.addrs.front();
    p.function = point.function();
    return p;
  };
  RACERIG_ASSIGN(ctx.steps, scenario::resolve_schedule(loaded, resolver));
  ctx.scenario = std::move(loaded);
  if (!ctx.steps.empty()) {
    // Before any VM boots: a kernel where the current task cannot be found
    // fails here, naming what was looked for.
    RACERIG_ASSIGN(dwarf::CurrentTaskSlot current, dwarf::find_current_task(*syms));
    RACERIG_ASSIGN(uint64_t comm, syms->member_offset("task_struct", "comm"));
    RACERIG_ASSIGN(uint64_t pid, syms->member_offset("task_struct", "pid"));
    // For blocked-actor detection: the task list, __state and the stack
    // pointer saved at the last switch.
    RACERIG_ASSIGN(GuestAddr init_task, syms->address_of("init_task"));
    RACERIG_ASSIGN(uint64_t tasks, syms->member_offset("task_struct", "tasks"));
    RACERIG_ASSIGN(uint64_t state, syms->member_offset("task_struct", "__state"));
    RACERIG_ASSIGN(uint64_t thread, syms->member_offset("task_struct", "thread"));
    RACERIG_ASSIGN(uint64_t sp, syms->member_offset("thread_struct", "sp"));
    ctx.task = schedule::TaskLayout{current.per_cpu_offset, comm, pid, init_task.value(), tasks, state, thread + sp};
  }
  RACERIG_ASSIGN(ctx.base_initramfs, initramfs::base_initramfs(options.work_dir));
  if (!ctx.scenario.scenario.programs().empty()) {
    programs::CompileOptions compile;
    compile.work_dir = options.work_dir;
    RACERIG_ASSIGN(compile.who, process::worker_identity());
    RACERIG_ASSIGN(ctx.programs, programs::compile_programs(ctx.scenario, compile));
  }
  return ctx;
}

pb::RunReport run_once(const RunContext& ctx, int index, const Progress& progress) {
  RunState run(ctx, index);
  auto pmem = template_for_run(ctx, progress, run.phases, true);
  if (!pmem.ok()) {
    run.report.set_verdict(pb::INFRA_ERROR);
    run.report.set_reason(pmem.error().message);
    return std::move(run.report);
  }
  progress("booting " + ctx.kernel.variant);
  auto live = start_live(ctx, plan_of(ctx, false, !pmem->empty()), false, *pmem);
  if (!live.ok()) {
    run.report.set_verdict(pb::INFRA_ERROR);
    run.report.set_reason(live.error().message);
    return std::move(run.report);
  }
  run.watch(ctx, *live);
  machine::Machine& vm = run.vm();
  verdict::Evidence& ev = run.evidence;
  std::string not_ready = boot_to_ready(ctx, run, progress);
  if (!not_ready.empty()) {
    ev.schedule_ran = false;
    ev.schedule_reason = not_ready;
    ev.infra_error = not_ready;
  } else {
    (void)enforce(ctx, run, ctx.steps.empty() ? "" : "go", progress);
  }
  const pb::Verdict verdict = judge(ctx, run, {});
  if (ctx.options.attach && verdict == pb::REPRODUCED) {
    const std::string gdb = "gdb " + ctx.kernel.vmlinux.string() + " -ex 'target remote " + vm.gdb_socket_path() + "'";
    if (ev.crash_vcpu >= 0)
      progress("attach: the VM is stopped at the crash; vCPU " + std::to_string(ev.crash_vcpu) + " (gdb thread " +
               std::to_string(ev.crash_vcpu + 1) + ") is at the faulting instruction " + ev.crash_stop.rip().text() +
               ": " + gdb + " -ex 'thread " + std::to_string(ev.crash_vcpu + 1) + "' -ex bt");
    else
      progress("attach: the VM is stopped; " + gdb);
    (void)live->client->interrupt(Deadline::after(milliseconds(5000)));
    live->client->close_keep_stopped();
    vm.wait_until_exit_or_cancel();
  }
  pb::RunReport& report = run.report;
  Status s = vm.shutdown(Deadline::after(milliseconds(10000)));
  report.set_console(vm.console_log());
  if (!s.ok() && report.verdict() != pb::INFRA_ERROR)
    report.set_reason(report.reason() + " (teardown: " + s.error().message + ")");
  keep_logs(ctx, vm, vm.console_log(), report);  // QEMU's last words included
  run.phases.mark("teardown");
  return std::move(run.report);
}

Result<RunOptions::Restore> parse_restore(const std::string& text) {
  if (text == "auto") return RunOptions::Restore::kAuto;
  if (text == "incoming") return RunOptions::Restore::kIncoming;
  if (text == "loadvm") return RunOptions::Restore::kLoadvm;
  return make_error(ErrorKind::kInput, "--restore: '" + text + "' is none of auto, incoming, loadvm");
}

}  // namespace racerig::run
