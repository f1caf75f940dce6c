// One forced run (see run.h).
#include "rig/run/run.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <condition_variable>
#include <deque>
#include <future>
#include <thread>
#include <map>
#include <mutex>
#include <optional>
#include <fstream>
#include <sstream>

#include "guest/agent/event_line.h"
#include "guest/initramfs/initramfs.h"
#include "rig/base/text.h"
#include "rig/crash/oops.h"
#include "rig/gdbremote/client.h"
#include "rig/run/agent_events.h"
#include "rig/run/backend.h"
#include "rig/run/crash_stop.h"
#include "rig/run/guest_monitor.h"
#include "rig/run/kept_logs.h"
#include "rig/run/rsp_target.h"
#include "rig/run/verdict.h"
#include "rig/dwarf/current_task.h"
#include "rig/dwarf/symbols.h"
#include "rig/kbuild/cache.h"
#include "rig/qemu/cancel.h"
#include "rig/qemu/exit_status.h"
#include "rig/qemu/migration.h"
#include "rig/qemu/vm.h"
#include "rig/run/ready_store.h"
#include "rig/process/process.h"

namespace racerig::run {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// "; console tail:\n<the console's last lines>", or that it said nothing.
std::string console_tail(const vm::Machine& vm) {
  const std::string console = last_lines(vm.console_log(), 15);
  return console.empty() ? "; the console said nothing" : "; console tail:\n" + console;
}

// "<what>: <how QEMU ended>" and the console's tail.
std::string ended_text(const std::string& what, const vm::Machine& vm) {
  std::string out = what;
  if (vm.exited() && !vm.exit_text().empty()) out += ": " + vm.exit_text();
  return out + console_tail(vm);
}

// Waits while the VM runs until `done()` says so, the guest ends, or the
// deadline passes. Returns false on the deadline. `vcpus` are resumed after
// an unexpected stop (nothing of ours is armed).
template <typename Done>
Result<bool> wait_running(RspTarget& target, VmMonitor& monitor, Deadline deadline, Done done, int vcpus) {
  while (true) {
    monitor.poll();
    if (done()) return true;
    auto ev = target.wait(deadline);
    if (!ev.ok()) {
      if (ev.error().kind == ErrorKind::kTimeout) return false;
      return ev.error();
    }
    if (ev->kind == schedule::StopEvent::Kind::kExited) {
      monitor.poll();
      return true;
    }
    if (ev->kind != schedule::StopEvent::Kind::kWoken) {
      std::vector<int> all;
      for (int v = 0; v < vcpus; ++v) all.push_back(v);
      RACERIG_TRY(target.resume(all, Deadline::after(milliseconds(5000))));
    }
  }
}

// As wait_running, after a schedule: the engine owns the VM's run state,
// and every `tick` the actors that have not finished are looked at; a
// deadlock among them ends the wait (returned in *deadlock).
template <typename Done>
Result<bool> wait_after_schedule(schedule::Engine& engine, VmMonitor& monitor, Deadline deadline, Done done,
                                 milliseconds tick, std::vector<pb::BlockedTask>* deadlock) {
  while (true) {
    schedule::GuestStatus g = monitor.poll();
    if (done()) return true;
    auto ev = engine.wait(deadline.earlier(Deadline::after(tick)));
    if (!ev.ok()) {
      if (ev.error().kind != ErrorKind::kTimeout) return ev.error();
      if (deadline.expired()) return false;
      if (deadlock == nullptr) continue;
      RACERIG_ASSIGN(*deadlock, engine.check_deadlock(g.actors_done));
      if (!deadlock->empty() || engine.crash_vcpu()) return true;
      continue;
    }
    if (ev->kind == schedule::StopEvent::Kind::kExited) {
      monitor.poll();
      return true;
    }
    if (ev->kind != schedule::StopEvent::Kind::kWoken) {
      if (engine.crash_vcpu()) return true;  // stopped on the oops path (--attach)
      RACERIG_TRY(engine.resume_all());
    }
  }
}

}  // namespace

Result<RunContext> prepare_run(const KernelFiles& kernel, std::shared_ptr<const symbols::Symbols> syms,
                               scenario::LoadedScenario loaded, const RunOptions& options) {
  RunContext ctx;
  ctx.kernel = kernel;
  ctx.symbols = syms;
  ctx.options = options;
  if (ctx.options.cpus <= 0) ctx.options.cpus = scenario::machine_cpus(loaded.scenario);
  if (ctx.options.memory_mb <= 0) ctx.options.memory_mb = scenario::machine_memory_mb(loaded.scenario);
  auto resolver = [&](std::string_view spec) -> Result<scenario::ResolvedPoint> {
    RACERIG_ASSIGN(auto p, syms->resolve(spec));
    return scenario::ResolvedPoint{p.addr, p.function, p.offset, p.addrs};
  };
  RACERIG_ASSIGN(ctx.steps, scenario::resolve_schedule(loaded, resolver));
  ctx.scenario = std::move(loaded);
  if (!ctx.steps.empty()) {
    // Before any VM boots: a kernel where the current task cannot be found
    // fails here, naming what was looked for.
    RACERIG_ASSIGN(symbols::CurrentTaskSlot current, symbols::find_current_task(*syms));
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
  RACERIG_ASSIGN(ctx.base_initramfs, guest::base_initramfs(options.work_dir));
  return ctx;
}

namespace {

double deadline_s(uint32_t v, uint32_t dflt) { return static_cast<double>(v != 0 ? v : dflt); }

// Records phase timings into a report.
class Phases {
 public:
  explicit Phases(pb::RunReport& report) : report_(report), since_(Clock::now()) {}
  void mark(const std::string& name) {
    pb::PhaseTiming* t = report_.add_timings();
    t->set_phase(name);
    t->set_ms(ms_since(since_));
    since_ = Clock::now();
  }

 private:
  pb::RunReport& report_;
  Clock::time_point since_;
};

// One QEMU with its gdbstub connection.
struct Live {
  std::unique_ptr<vm::Machine> vm;
  // The same VM when the direct backend started it (migration needs its
  // QMP); null under libvirt.
  vm::Vm* qemu = nullptr;
  std::unique_ptr<gdbremote::Client> client;
  std::unique_ptr<RspTarget> target;
};

std::vector<int> all_vcpus(const RunContext& ctx) {
  std::vector<int> all;
  for (int v = 0; v < ctx.options.cpus; ++v) all.push_back(v);
  return all;
}

constexpr int kPmemMb = 512;

// The QEMU options every VM of this context shares (no initrd, no NVDIMM
// image choice).
vm::VmConfig vm_config(const RunContext& ctx) {
  vm::VmConfig cfg;
  cfg.qemu = ctx.options.qemu;
  cfg.bzimage = ctx.kernel.bzimage;
  cfg.append = ctx.options.append;
  cfg.cpus = ctx.options.cpus;
  cfg.memory_mb = ctx.options.memory_mb;
  cfg.kvm = ctx.options.kvm;
  cfg.start_paused = true;
  cfg.pmem_mb = kPmemMb;
  return cfg;
}

// Starts the VM with `cfg` through the context's backend (the VM stays
// stopped; the gdbstub is not connected yet).
Result<Live> start_live_with(const RunContext& ctx, const vm::VmConfig& cfg) {
  Live live;
  auto started = start_machine(cfg, ctx.options);
  if (!started.ok()) return started.error().wrap("starting QEMU");
  live.vm = std::move(*started);
  live.qemu = dynamic_cast<vm::Vm*>(live.vm.get());
  return live;
}

// The direct QEMU of `live`, which the incoming restore path needs.
Result<vm::Vm*> direct_qemu(Live& live) {
  if (live.qemu == nullptr)
    return make_error(ErrorKind::kInput, "the incoming restore needs the direct QEMU backend (--backend qemu)");
  return live.qemu;
}

// Connects the gdbstub of a stopped VM.
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
  RACERIG_ASSIGN(auto initrd, guest::write_run_initramfs(ctx.base_initramfs, plan));
  vm::VmConfig cfg = vm_config(ctx);
  cfg.initrd = initrd.path();
  cfg.snapshot_drive = snapshot_drive;
  cfg.pmem_template = pmem_template;
  RACERIG_ASSIGN(Live live, start_live_with(ctx, cfg));
  RACERIG_TRY(connect_gdb(ctx, live));
  return live;
}

// Boot and guest set-up: every vCPU runs until the agent is READY. Returns
// why not, or "" when ready. Progress says when the kernel first speaks on
// the console and when the agent starts, so a boot that hangs shows where.
std::string boot_to_ready(const RunContext& ctx, Live& live, VmMonitor& monitor, Phases& phases,
                          const Progress& progress) {
  const pb::Scenario& sc = ctx.scenario.scenario;
  if (Status s = live.target->resume(all_vcpus(ctx), Deadline::after(milliseconds(5000))); !s.ok())
    return "starting the guest: " + s.error().message;
  vm::Machine& vm = *live.vm;
  bool spoke = false;
  auto booted = wait_running(*live.target, monitor, Deadline::after_seconds(deadline_s(sc.deadlines().boot_s(), 120)),
                             [&] {
                               if (!spoke && !vm.console_log().empty()) {
                                 spoke = true;
                                 progress("the kernel is booting (the console spoke)");
                               }
                               return monitor.agent_started() || monitor.fatal() || vm.exited();
                             },
                             ctx.options.cpus);
  phases.mark("boot");
  if (booted.ok() && *booted && monitor.agent_started()) progress("the agent started; setting up the guest");
  auto ready = booted.ok() && *booted
                   ? wait_running(*live.target, monitor,
                                  Deadline::after_seconds(deadline_s(sc.deadlines().boot_s(), 120)),
                                  [&] {
                                    return monitor.ready() || monitor.fatal() || monitor.done() || vm.exited() ||
                                           monitor.decisive_oops_complete();
                                  },
                                  ctx.options.cpus)
                   : booted;
  phases.mark("guest_setup");
  if (ready.ok() && *ready && monitor.ready()) return "";
  return !ready.ok()       ? ready.error().message
         : !*ready         ? "the guest was not ready within the boot deadline" + console_tail(vm)
         : monitor.fatal() ? "set-up failed: the agent said " + monitor.poll().agent_note
                           : ended_text("the guest ended during set-up", vm);
}

// The schedule and what follows it, on a ready guest whose agent waits for
// `go_line` ("go" or "go ARGUMENT"; empty: the agent does not wait, there is
// no schedule and no barrier and the actors already run).
// Returns whether the VM is still fit for another run from its snapshot:
// false after a target error (kError), a failed disarm (breakpoints may be
// left inserted) or a gdbstub connection that fell out of step.
bool enforce(const RunContext& ctx, Live& live, VmMonitor& monitor, Evidence& ev, pb::RunReport& report,
             Clock::time_point t0, Phases& phases, const std::string& go_line, const Progress& progress) {
  const pb::Scenario& sc = ctx.scenario.scenario;
  RspTarget& target = *live.target;
  progress("guest ready; enforcing the schedule");
  schedule::EngineConfig ec;
  ec.actors = scenario::actors_of(sc);
  ec.steps = ctx.steps;
  ec.task = ctx.task;
  ec.step_timeout = milliseconds(static_cast<int64_t>(deadline_s(sc.deadlines().step_s(), 60) * 1000));
  ec.origin = t0;
  auto syms = ctx.symbols;
  ec.symbolize = [syms](GuestAddr a) {
    auto s = syms->symbolize(a);
    return s ? s->text : a.hex();
  };
  // --attach: arm the kernel's oops path before the last release.
  std::optional<CrashTraps> traps;
  if (ctx.options.attach && !ctx.steps.empty()) {
    auto t = crash_traps(*ctx.symbols);
    if (t.ok()) {
      traps = *t;
      ec.crash_traps = t->addrs;
    } else {
      progress(t.error().message);
    }
  }
  schedule::Engine engine(target, monitor, ec, report.mutable_events());
  schedule::Outcome outcome;
  if (!ctx.steps.empty()) {
    auto stop = target.interrupt(Deadline::after(milliseconds(5000)));
    Status armed = stop.ok() ? engine.arm() : Status(stop.error());
    if (!armed.ok()) {
      ev.infra_error = "arming the schedule: " + armed.error().message;
      return false;
    }
  }
  if (!go_line.empty()) {
    // With a schedule the engine resumes the vCPUs; without one (a stress
    // run from a snapshot) the restored VM is resumed here.
    if (ctx.steps.empty() && !live.client->running()) {
      if (Status s = target.resume(all_vcpus(ctx), Deadline::after(milliseconds(5000))); !s.ok()) {
        ev.infra_error = "resuming the guest: " + s.error().message;
        return false;
      }
    }
    if (Status s = live.vm->send_agent_line(go_line + "\n"); !s.ok()) {
      ev.infra_error = "telling the agent to go: " + s.error().message;
      return false;
    }
  }
  if (!ctx.steps.empty()) outcome = engine.execute();
  ev.schedule_ran = true;
  ev.unforced = ctx.steps.empty();
  ev.schedule = outcome.kind;
  ev.schedule_reason = outcome.reason;
  ev.serialized = outcome.kind == schedule::Outcome::Kind::kSerialized;
  for (const auto& v : outcome.vcpus) *report.add_vcpus() = v;
  for (const auto& b : outcome.blocked) *report.add_blocked() = b;
  if (!outcome.blocked.empty()) report.set_time_to_detect_block_ms(outcome.detect_ms);
  phases.mark("schedule");

  // After the schedule (phase "finish"): until the agent is done, the kernel
  // oopsed (and printed the whole report), the guest is gone, or the actors
  // deadlocked. A stress run spends its whole budget here.
  vm::Machine& vm = *live.vm;
  const Deadline finish_deadline = Deadline::after_seconds(deadline_s(sc.deadlines().finish_s(), 60));
  auto finish_done = [&] { return monitor.done() || monitor.fatal() || vm.exited() || monitor.decisive_oops_complete(); };
  if (outcome.kind == schedule::Outcome::Kind::kEnforced || ev.serialized) {
    std::vector<pb::BlockedTask> deadlock;
    auto finished = ctx.steps.empty()
                        ? wait_running(target, monitor, finish_deadline, finish_done, ctx.options.cpus)
                        : wait_after_schedule(engine, monitor, finish_deadline, finish_done,
                                              milliseconds(250), &deadlock);
    if (!finished.ok()) {
      ev.infra_error = "waiting for the guest: " + finished.error().message;
    } else if (!deadlock.empty()) {
      ev.deadlock = deadlock;
      for (const auto& b : deadlock) *report.add_blocked() = b;
    } else if (!*finished) {
      if (monitor.oops()) {
        // The report started but its end never came: keep what there is.
      } else {
        ev.finish_timed_out = true;
        for (const auto& v : engine.snapshot_vcpus()) *report.add_vcpus() = v;
      }
    }
  } else if (monitor.oops() && !monitor.decisive_oops_complete()) {
    // Let the rest of the report reach the console (bounded).
    if (engine.disarm().ok() && engine.resume_all().ok())
      (void)wait_after_schedule(engine, monitor, Deadline::after(milliseconds(5000)),
                                [&] { return monitor.decisive_oops_complete(); }, milliseconds(5000), nullptr);
  }
  if (auto v = engine.crash_vcpu(); v && traps) {
    auto crash = rewind_to_fault(target, *ctx.symbols, *traps, *v, milliseconds(5000));
    if (crash.ok()) {
      ev.crash_vcpu = *v;
      ev.crash_stop = *crash;
    } else {
      ev.infra_error = "stopping at the crash: " + crash.error().message;
    }
  }
  const Status disarmed = engine.disarm();
  phases.mark("finish");
  return disarmed.ok() && outcome.kind != schedule::Outcome::Kind::kError && !live.client->broken();
}

// Evidence → verdict, oops decoded, agent events; phase "verdict".
void judge(const RunContext& ctx, const vm::Machine& vm, VmMonitor& monitor, Evidence& ev, pb::RunReport& report,
           Clock::time_point t0, Phases& phases, const std::vector<pb::AgentEvent>& earlier_events) {
  monitor.poll();
  if (vm.exited()) {
    ev.vm_end = vm.exit_text();
    ev.vm_failed = vm.exit_failed();
  }
  ev.agent = earlier_events;
  for (const auto& e : monitor.events()) ev.agent.push_back(e);
  ev.agent_done = monitor.done();
  ev.agent_fatal = monitor.fatal();
  ev.unparsable = monitor.unparsable();
  const pb::Workload& w = ctx.scenario.scenario.workload();
  ev.actors_planned = w.actors_size();
  ev.checks_planned = w.check_size();
  if (auto o = monitor.verdict_oops()) {
    ev.oops = true;
    ev.oops_report = o->first;
    report.set_time_to_oops_ms(std::chrono::duration<double, std::milli>(o->second - t0).count());
  } else if (ev.crash_vcpu >= 0) {
    // Stopped on the oops path before the report (--attach): the crash as
    // read from its exception frame.
    ev.oops = true;
    ev.oops_report = ev.crash_stop;
  }
  for (const auto& e : ev.agent) *report.add_agent() = e;
  if (ev.oops) {
    oops::decode(ev.oops_report, *ctx.symbols);
    *report.mutable_oops() = ev.oops_report;
  }
  std::string reason;
  report.set_verdict(decide(ctx.scenario.scenario.expect(), ev, &reason));
  report.set_reason(reason);
  report.set_schedule_enforced(!ev.unforced && ev.schedule_ran && ev.schedule == schedule::Outcome::Kind::kEnforced);
  report.set_serialized(ev.serialized);
  phases.mark("verdict");
}

// The logs of an INFRA_ERROR or STALLED run, kept (see kept_logs.h) while
// the VM's logs are still at hand: the place goes into the report, a
// failure to keep them into its reason. `console` is this run's part.
void keep_logs(const RunContext& ctx, const RunLogs& logs, pb::RunReport& report) {
  // A run the user interrupted (Ctrl-C) is not kept: nothing went wrong.
  if (!keeps_logs(report.verdict()) || ctx.options.logs_dir.empty() || vm::cancelled()) return;
  auto kept = keep_run_logs(ctx.options.logs_dir,
                            kept_logs_name(std::time(nullptr), report.scenario(), report.kernel_variant(), report.run()),
                            logs);
  if (kept.ok())
    report.set_kept_logs(kept->string());
  else
    report.set_reason(report.reason() + " (its logs could not be kept: " + kept.error().message + ")");
}
void keep_logs(const RunContext& ctx, const vm::Machine& vm, const std::string& console, pb::RunReport& report) {
  keep_logs(ctx, RunLogs{console, vm.qemu_log(), vm.agent_log()}, report);
}

pb::RunReport new_report(const RunContext& ctx, int index) {
  pb::RunReport report;
  report.set_run(index);
  report.set_scenario(ctx.scenario.scenario.name());
  report.set_kernel_variant(ctx.kernel.variant);
  report.set_kernel_build_id(ctx.kernel.build_id);
  return report;
}

bool wants_template(const RunContext& ctx) {
  return ctx.options.pmem_template && !ctx.scenario.scenario.workload().setup().skip_fsdax();
}

// The template for this run, or an empty path when the guest makes its own
// filesystem; a template made now is charged to its own phase. With
// `make_if_missing` false a missing template is not made: a snapshot boots
// once per kernel anyway, and making the template would be a second boot.
Result<std::filesystem::path> template_for_run(const RunContext& ctx, const Progress& progress, Phases& phases,
                                               bool make_if_missing) {
  if (!wants_template(ctx)) return std::filesystem::path();
  if (!make_if_missing) {
    std::error_code ec;
    const std::filesystem::path p = pmem_template_path(ctx);
    return std::filesystem::is_regular_file(p, ec) ? p : std::filesystem::path();
  }
  bool made = false;
  auto t = ensure_pmem_template(ctx, progress, &made);
  if (!t.ok()) return t.error().wrap("making the NVDIMM template");
  if (made) phases.mark("template");
  return t;
}

pb::GuestPlan plan_of(const RunContext& ctx, bool snapshot, bool from_template) {
  pb::GuestPlan plan;
  plan.set_filesystem_from_template(from_template);
  *plan.mutable_workload() = ctx.scenario.scenario.workload();
  // From a snapshot the actors always wait for "go": the snapshot is taken
  // before anything of the workload ran.
  plan.set_wait_for_go(snapshot || !ctx.steps.empty());
  plan.set_stay_up(snapshot);
  return plan;
}

}  // namespace

std::filesystem::path pmem_template_path(const RunContext& ctx) {
  std::string key = "racerig pmem template v1\n" + ctx.kernel.build_id + "\n" +
                    ctx.base_initramfs.filename().string() + "\n" + std::to_string(kPmemMb) + "\n" +
                    std::to_string(ctx.options.cpus) + "\n";
  ctx.scenario.scenario.workload().setup().AppendToString(&key);
  return ctx.options.work_dir / "pmem-templates" / (kbuild::sha256_hex(key).substr(0, 24) + ".img");
}

Result<std::filesystem::path> ensure_pmem_template(const RunContext& ctx, const Progress& progress, bool* made) {
  namespace fs = std::filesystem;
  *made = false;
  const pb::GuestSetup& setup = ctx.scenario.scenario.workload().setup();
  const fs::path path = pmem_template_path(ctx);
  const fs::path dir = path.parent_path();
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return path;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorKind::kIo, "creating " + dir.string() + ": " + ec.message());

  progress("making the NVDIMM template (fsdax, mkfs.xfs; once per kernel and set-up)");
  pb::GuestPlan plan;
  *plan.mutable_workload()->mutable_setup() = setup;
  plan.set_make_template(true);
  RACERIG_ASSIGN(Live live, start_live(ctx, plan, false, {}));
  vm::Machine& vm = *live.vm;
  VmMonitor monitor(vm, ctx.scenario.scenario.expect());
  RACERIG_TRY(live.target->resume(all_vcpus(ctx), Deadline::after(milliseconds(5000))));
  const auto boot_deadline =
      Deadline::after_seconds(deadline_s(ctx.scenario.scenario.deadlines().boot_s(), 120));
  RACERIG_ASSIGN(bool ended, wait_running(
                                 *live.target, monitor, boot_deadline,
                                 [&] {
                                   return monitor.done() || monitor.fatal() || vm.exited() ||
                                          monitor.decisive_oops_complete();
                                 },
                                 ctx.options.cpus));
  if (!monitor.done()) {
    std::string why = !ended ? "the guest did not finish within the boot deadline" : "the guest ended without DONE";
    for (const auto& e : monitor.events())
      if (e.kind() == pb::AgentEvent::FATAL) why = "the agent failed: " + e.message();
    (void)vm.shutdown(Deadline::after(milliseconds(10000)));
    return make_error(ErrorKind::kIo, ended_text(why, vm));
  }
  // The agent powers off after DONE: once QEMU is gone the image is whole.
  RACERIG_ASSIGN(bool exited, wait_running(*live.target, monitor, Deadline::after(milliseconds(30000)),
                                           [&] { return vm.exited(); }, ctx.options.cpus));
  if (!exited || !vm.wait_exit(Deadline::after(milliseconds(10000))).ok()) {
    (void)vm.shutdown(Deadline::after(milliseconds(10000)));
    return make_error(ErrorKind::kTimeout, "the guest did not power off after making the template");
  }
  // Several racerig processes may race to make the same template: each
  // copies to its own name, and the rename is atomic.
  const fs::path mine = path.string() + "." + std::to_string(::getpid()) + ".new";
  Status copied = vm::copy_sparse(vm.pmem_image_path(), mine);
  (void)vm.shutdown(Deadline::after(milliseconds(10000)));
  RACERIG_TRY(copied);
  if (::rename(mine.c_str(), path.c_str()) != 0) {
    Error e = errno_error("renaming " + mine.string() + " to " + path.string());
    fs::remove(mine, ec);
    return e;
  }
  *made = true;
  return path;
}

pb::RunReport run_once(const RunContext& ctx, int index, const Progress& progress) {
  const auto t0 = Clock::now();
  pb::RunReport report = new_report(ctx, index);
  Phases phases(report);
  auto pmem = template_for_run(ctx, progress, phases, true);
  if (!pmem.ok()) {
    report.set_verdict(pb::INFRA_ERROR);
    report.set_reason(pmem.error().message);
    return report;
  }
  progress("booting " + ctx.kernel.variant);
  auto live = start_live(ctx, plan_of(ctx, false, !pmem->empty()), false, *pmem);
  if (!live.ok()) {
    report.set_verdict(pb::INFRA_ERROR);
    report.set_reason(live.error().message);
    return report;
  }
  vm::Machine& vm = *live->vm;
  VmMonitor monitor(vm, ctx.scenario.scenario.expect());
  Evidence ev;
  std::string not_ready = boot_to_ready(ctx, *live, monitor, phases, progress);
  if (!not_ready.empty()) {
    ev.schedule_ran = false;
    ev.schedule_reason = not_ready;
    ev.infra_error = not_ready;
  } else {
    (void)enforce(ctx, *live, monitor, ev, report, t0, phases, ctx.steps.empty() ? "" : "go", progress);
  }
  judge(ctx, vm, monitor, ev, report, t0, phases, {});
  if (ctx.options.attach && report.verdict() == pb::REPRODUCED) {
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
  Status s = vm.shutdown(Deadline::after(milliseconds(10000)));
  report.set_console(vm.console_log());
  if (!s.ok() && report.verdict() != pb::INFRA_ERROR)
    report.set_reason(report.reason() + " (teardown: " + s.error().message + ")");
  keep_logs(ctx, vm, vm.console_log(), report);  // QEMU's last words included
  phases.mark("teardown");
  return report;
}

// ------------------------------------------------------------ snapshots

Result<RunOptions::Restore> parse_restore(const std::string& text) {
  if (text == "auto") return RunOptions::Restore::kAuto;
  if (text == "incoming") return RunOptions::Restore::kIncoming;
  if (text == "loadvm") return RunOptions::Restore::kLoadvm;
  return make_error(ErrorKind::kInput, "--restore: '" + text + "' is none of auto, incoming, loadvm");
}

std::filesystem::path snapshot_store_dir(const std::filesystem::path& work_dir) { return work_dir / "snapshots"; }

namespace {

// `qemu --version`'s first line and the binary's identity, once per process.
struct QemuIdentity {
  std::string version, binary;
};
const QemuIdentity& qemu_identity(const std::string& qemu) {
  static std::mutex mu;
  static std::map<std::string, QemuIdentity> known;
  std::lock_guard<std::mutex> lock(mu);
  auto it = known.find(qemu);
  if (it != known.end()) return it->second;
  QemuIdentity id;
  process::Limits version_limits;
  version_limits.deadline = Deadline::after_seconds(20);
  auto out = process::run_checked(process::Spec{{qemu, "--version"}}, version_limits);
  id.version = out.ok() ? out->substr(0, out->find('\n')) : "unknown";
  process::Limits path_limits;
  path_limits.deadline = Deadline::after_seconds(10);
  auto path = process::run_checked(process::Spec{{"sh", "-c", "command -v \"$0\"", qemu}}, path_limits);
  std::string resolved = path.ok() ? path->substr(0, path->find('\n')) : qemu;
  struct stat st {};
  if (::stat(resolved.c_str(), &st) == 0)
    id.binary = resolved + " " + std::to_string(st.st_size) + " bytes, mtime " + std::to_string(st.st_mtim.tv_sec) + "." +
                std::to_string(st.st_mtim.tv_nsec);
  else
    id.binary = resolved + " (not found)";
  return known.emplace(qemu, id).first->second;
}

Status make_sparse_file(const std::filesystem::path& p, int mb) {
  ScopedFd fd(::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("creating " + p.string());
  if (::ftruncate(fd.get(), static_cast<off_t>(mb) << 20) != 0) return errno_error("sizing " + p.string());
  return Status::Ok();
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

constexpr char kSnapshotName[] = "racerig-ready";

}  // namespace

// A run's VM restored from the persisted ready state (incoming path).
struct SnapshotRunner::Restored {
  Live live;
  double work_ms = 0;  // QEMU's launch, the device state, the gdbstub handshake
};

namespace {

// The thread that restores standby VMs. QEMU's PR_SET_PDEATHSIG follows the
// thread that forked it, not the process, so that thread must outlive every
// VM it starts: it lives as long as the runner's state.
class StandbyWorker {
 public:
  StandbyWorker() : thread_([this] { loop(); }) {}
  ~StandbyWorker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  StandbyWorker(const StandbyWorker&) = delete;
  StandbyWorker& operator=(const StandbyWorker&) = delete;
  // Runs `job` on the thread, after the ones submitted before it.
  template <typename F>
  auto submit(F job) -> std::future<decltype(job())> {
    auto task = std::make_shared<std::packaged_task<decltype(job())()>>(std::move(job));
    auto result = task->get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back([task] { (*task)(); });
    }
    cv_.notify_all();
    return result;
  }

 private:
  void loop() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace

struct SnapshotRunner::State {
  std::unique_ptr<StandbyWorker> worker;  // first: destroyed after every VM it started
  bool incoming = false;
  std::vector<pb::AgentEvent> setup_events;  // what the agent said up to READY
  // loadvm: the one QEMU, stopped at the saved state between runs.
  Live live;
  // incoming: the published snapshot and the next run's VM, if restoring.
  std::optional<ReadySnapshotStore::Entry> entry;
  std::future<Result<Restored>> standby;
  // The logs of the standby VM's QEMU when it died while restoring.
  std::shared_ptr<std::optional<RunLogs>> standby_logs;
  ~State() {
    // A standby VM nobody will use: wait for it and let it go.
    if (standby.valid()) (void)standby.get();
  }
};

namespace {

// A fresh QEMU on the snapshot's files (copy-on-write), the device state
// loaded, the gdbstub connected: paused in the ready state. Thread-safe
// (touches only its own VM).
// When QEMU died on the way, its logs go to *dead_logs.
Result<std::unique_ptr<Live>> restore_incoming(const RunContext& ctx, const ReadySnapshotStore::Entry& e,
                                               std::optional<RunLogs>* dead_logs) {
  vm::VmConfig cfg = vm_config(ctx);
  cfg.initrd = e.file(kInitrdFile);
  cfg.ram_file = e.file(kRamFile);
  cfg.pmem_file = e.file(kPmemFile);
  cfg.share_files = false;
  cfg.incoming = true;
  auto live = std::make_unique<Live>();
  RACERIG_ASSIGN(*live, start_live_with(ctx, cfg));
  RACERIG_ASSIGN(vm::Vm* qemu, direct_qemu(*live));
  // A QEMU that died on the way: how it ended goes into the error (a killed
  // one says nothing about the snapshot).
  auto with_end = [&](Error err) {
    if (!qemu->exited()) (void)qemu->wait_exit(Deadline::after(milliseconds(2000)));
    if (qemu->exited() && err.message.find(qemu->exit_text()) == std::string::npos)
      err.message += "; " + qemu->exit_text();
    if (qemu->exited()) *dead_logs = RunLogs{qemu->console_log(), qemu->qemu_log(), qemu->agent_log()};
    return err;
  };
  if (Status s = vm::load_device_state(*qemu, e.file(kDeviceStateFile), Deadline::after(milliseconds(30000)));
      !s.ok())
    return with_end(s.error().wrap("restoring the ready state from " + e.dir.string()));
  if (Status s = connect_gdb(ctx, *live); !s.ok()) return with_end(s.error());
  return live;
}

}  // namespace

SnapshotRunner::SnapshotRunner(const RunContext& ctx) : ctx_(ctx) {}
SnapshotRunner::~SnapshotRunner() = default;

std::string SnapshotRunner::method() const {
  if (!state_) return "";
  return state_->incoming ? "incoming" : "loadvm";
}

std::filesystem::path SnapshotRunner::snapshot_dir() const {
  return state_ && state_->entry ? state_->entry->dir : std::filesystem::path();
}

Status SnapshotRunner::prepare(const Progress& progress) {
  state_.reset();
  from_cache_ = false;
  // The incoming path maps the snapshot's files into a directly started
  // QEMU; libvirt's domains restore with loadvm (through its monitor).
  const bool libvirt = ctx_.options.backend == RunOptions::Backend::kLibvirt;
  if (libvirt && ctx_.options.restore == RunOptions::Restore::kIncoming)
    return make_error(ErrorKind::kInput, "--restore incoming needs --backend qemu (libvirt restores with loadvm)");
  if (ctx_.options.restore != RunOptions::Restore::kLoadvm && !libvirt) {
    Status s = prepare_incoming(progress);
    // A killed QEMU is no reason to think incoming cannot work here.
    if (s.ok() || ctx_.options.restore == RunOptions::Restore::kIncoming || vm::cancelled() ||
        vm::says_qemu_was_killed(s.error().message))
      return s;
    progress("the incoming snapshot could not be made (" + s.error().message + "); restoring with loadvm instead");
  }
  return prepare_loadvm(progress);
}

// What defines this context's ready state, and its key.
struct SnapshotRunner::Identity {
  std::filesystem::path pmem_template;  // empty: the guest makes its filesystem
  pb::GuestPlan plan;
  std::string key_text, key, qemu_version;
};

Result<SnapshotRunner::Identity> SnapshotRunner::identity(const Progress& progress) const {
  pb::RunReport scratch;
  Phases phases(scratch);
  Identity id;
  RACERIG_ASSIGN(id.pmem_template, template_for_run(ctx_, progress, phases, false));
  id.plan = plan_of(ctx_, true, !id.pmem_template.empty());
  const QemuIdentity& qemu = qemu_identity(ctx_.options.qemu);
  SnapshotInputs in;
  in.kernel_build_id = ctx_.kernel.build_id;
  in.base_initramfs = ctx_.base_initramfs.filename().string();
  {
    std::string bytes;
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    id.plan.SerializeToCodedStream(&coded);
    coded.Trim();
    in.guest_plan = bytes;
  }
  in.pmem_template = id.pmem_template.empty() ? "" : id.pmem_template.filename().string();
  in.append = ctx_.options.append;
  in.qemu_version = qemu.version;
  in.qemu_binary = qemu.binary;
  in.cpus = ctx_.options.cpus;
  in.memory_mb = ctx_.options.memory_mb;
  in.pmem_mb = kPmemMb;
  in.kvm = ctx_.options.kvm;
  id.key_text = snapshot_key_text(in);
  id.key = snapshot_key(id.key_text);
  id.qemu_version = qemu.version;
  return id;
}

std::filesystem::path SnapshotRunner::cached_snapshot() const {
  auto id = identity([](const std::string&) {});
  if (!id.ok()) return {};
  const ReadySnapshotStore store(snapshot_store_dir(ctx_.options.work_dir));
  std::string why;
  auto found = store.find(id->key, id->key_text, &why);
  return found.ok() && *found ? (*found)->dir : std::filesystem::path();
}

Status SnapshotRunner::prepare_incoming(const Progress& progress) {
  namespace fs = std::filesystem;
  const auto t0 = Clock::now();
  pb::RunReport scratch;
  Phases phases(scratch);
  RACERIG_ASSIGN(const Identity id, identity(progress));
  const fs::path& pmem = id.pmem_template;
  const pb::GuestPlan& plan = id.plan;
  const std::string& key_text = id.key_text;
  const std::string& key = id.key;
  const ReadySnapshotStore store(snapshot_store_dir(ctx_.options.work_dir));

  auto use = [&](ReadySnapshotStore::Entry e, bool cached) {
    auto state = std::make_unique<State>();
    state->incoming = true;
    state->setup_events.assign(e.meta.setup_events().begin(), e.meta.setup_events().end());
    state->entry = std::move(e);
    state_ = std::move(state);
    from_cache_ = cached;
    prepare_ms_ = ms_since(t0);
    if (cached) boot_ms_ = 0;
  };
  std::string why;
  RACERIG_ASSIGN(auto found, store.find(key, key_text, &why));
  if (!why.empty()) progress(why + "; making it again");
  if (found) {
    use(std::move(*found), true);
    return Status::Ok();
  }
  RACERIG_ASSIGN(ScopedFd lock, store.lock(key, Deadline::after(std::chrono::minutes(15))));
  why.clear();
  RACERIG_ASSIGN(found, store.find(key, key_text, &why));  // made while we waited?
  if (found) {
    use(std::move(*found), true);
    return Status::Ok();
  }

  progress("booting " + ctx_.kernel.variant + " to the ready state (once; kept in " + store.root().string() + ")");
  RACERIG_ASSIGN(fs::path staging, store.staging_dir(key));
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  } cleanup{staging};
  if (!pmem.empty()) {
    RACERIG_TRY(vm::copy_sparse(pmem, staging / kPmemFile));
  } else {
    RACERIG_TRY(make_sparse_file(staging / kPmemFile, kPmemMb));
  }
  RACERIG_TRY(make_sparse_file(staging / kRamFile, ctx_.options.memory_mb));
  {
    RACERIG_ASSIGN(auto initrd, guest::write_run_initramfs(ctx_.base_initramfs, plan));
    RACERIG_TRY(vm::copy_sparse(initrd.path(), staging / kInitrdFile));
  }
  vm::VmConfig cfg = vm_config(ctx_);
  cfg.initrd = staging / kInitrdFile;
  cfg.ram_file = staging / kRamFile;
  cfg.pmem_file = staging / kPmemFile;
  cfg.share_files = true;
  RACERIG_ASSIGN(Live live, start_live_with(ctx_, cfg));
  RACERIG_TRY(connect_gdb(ctx_, live));
  VmMonitor monitor(*live.vm, ctx_.scenario.scenario.expect());
  std::string not_ready = boot_to_ready(ctx_, live, monitor, phases, progress);
  if (!not_ready.empty()) return make_error(ErrorKind::kIo, "preparing the snapshot: " + not_ready);
  const double boot_ms = ms_since(t0);
  RACERIG_TRY(live.target->interrupt(Deadline::after(milliseconds(5000))));
  RACERIG_ASSIGN(vm::Vm* qemu, direct_qemu(live));
  RACERIG_TRY(vm::save_device_state(*qemu, staging / kDeviceStateFile, Deadline::after(milliseconds(60000))));
  // Once QEMU is gone the memory files hold the ready state.
  if (Status s = live.vm->shutdown(Deadline::after(milliseconds(10000))); !s.ok())
    return s.error().wrap("stopping the VM that made the ready state");
  live = Live();

  pb::ReadySnapshot meta;
  meta.set_key(key);
  meta.set_key_text(key_text);
  meta.set_kernel_variant(ctx_.kernel.variant);
  meta.set_kernel_build_id(ctx_.kernel.build_id);
  meta.set_scenario(ctx_.scenario.scenario.name());
  meta.set_qemu_version(id.qemu_version);
  meta.set_cpus(ctx_.options.cpus);
  meta.set_memory_mb(ctx_.options.memory_mb);
  meta.set_pmem_mb(kPmemMb);
  for (const auto& e : monitor.events()) *meta.add_setup_events() = e;
  meta.set_boot_ms(boot_ms);
  meta.set_prepare_ms(ms_since(t0));
  meta.set_created(utc_now());
  auto published = store.publish(staging, meta);
  cleanup.dir.clear();  // publish removed or renamed it
  if (!published.ok()) {
    // Someone else's may be there: use it if it checks out.
    RACERIG_ASSIGN(found, store.find(key, key_text, &why));
    if (!found) return published.error();
    published = std::move(*found);
  }
  use(std::move(*published), false);
  boot_ms_ = boot_ms;
  return Status::Ok();
}

Status SnapshotRunner::prepare_loadvm(const Progress& progress) {
  const auto t0 = Clock::now();
  pb::RunReport scratch;
  Phases phases(scratch);
  RACERIG_ASSIGN(std::filesystem::path pmem, template_for_run(ctx_, progress, phases, false));
  progress("booting " + ctx_.kernel.variant + " to the ready state");
  RACERIG_ASSIGN(Live live, start_live(ctx_, plan_of(ctx_, true, !pmem.empty()), true, pmem));
  VmMonitor monitor(*live.vm, ctx_.scenario.scenario.expect());
  std::string not_ready = boot_to_ready(ctx_, live, monitor, phases, progress);
  if (!not_ready.empty()) return make_error(ErrorKind::kIo, "preparing the snapshot: " + not_ready);
  RACERIG_TRY(live.target->interrupt(Deadline::after(milliseconds(5000))));
  RACERIG_TRY(live.vm->save_snapshot(kSnapshotName, Deadline::after(milliseconds(60000))));
  auto state = std::make_unique<State>();
  state->live = std::move(live);
  state->setup_events = monitor.events();
  state_ = std::move(state);
  prepare_ms_ = ms_since(t0);
  boot_ms_ = 0;
  for (const auto& t : scratch.timings()) boot_ms_ += t.ms();
  return Status::Ok();
}

pb::RunReport SnapshotRunner::run(int index, const Progress& progress, const std::string& go_argument) {
  const auto t0 = Clock::now();
  pb::RunReport report = new_report(ctx_, index);
  report.set_from_snapshot(true);
  const bool usable = state_ && (state_->incoming || !state_->live.vm->exited());
  if (!usable) {
    Phases phases(report);
    if (Status s = prepare(progress); !s.ok()) {
      report.set_verdict(pb::INFRA_ERROR);
      report.set_reason(s.error().message);
      return report;
    }
    phases.mark("prepare");  // the one-time boot, set-up and save (or the cache lookup), charged to this run
  }
  return state_->incoming ? run_incoming(std::move(report), t0, progress, go_argument)
                          : run_loadvm(std::move(report), t0, progress, go_argument);
}

pb::RunReport SnapshotRunner::run_loadvm(pb::RunReport report, Clock::time_point t0, const Progress& progress,
                                         const std::string& go_argument) {
  report.set_restore_method("loadvm");
  Phases phases(report);
  Live& live = state_->live;
  vm::Machine& vm = *live.vm;
  Evidence ev;
  bool usable = false;
  // Stop whatever the last run left running, then restore the ready state.
  auto stopped = live.target->interrupt(Deadline::after(milliseconds(5000)));
  Status restored = stopped.ok() ? vm.load_snapshot(kSnapshotName, Deadline::after(milliseconds(30000)))
                                 : Status(stopped.error());
  vm.discard_output();
  const size_t console_from = vm.console_log().size();
  phases.mark("restore");
  VmMonitor monitor(vm, ctx_.scenario.scenario.expect());
  if (!restored.ok()) {
    ev.infra_error = "restoring the ready-state snapshot: " + restored.error().message;
    ev.schedule_reason = ev.infra_error;
  } else {
    monitor.assume_ready();
    usable = enforce(ctx_, live, monitor, ev, report, t0, phases, go_argument.empty() ? "go" : "go " + go_argument,
                     progress);
  }
  judge(ctx_, vm, monitor, ev, report, t0, phases, state_->setup_events);
  report.set_console(vm.console_log().substr(std::min(console_from, vm.console_log().size())));
  keep_logs(ctx_, vm, report.console(), report);
  // Leave the VM stopped for the next restore; one that cannot be stopped is
  // rebuilt by the next run.
  // A VM the run left unusable (an engine error, a failed disarm, an RSP
  // timeout) is rebuilt.
  if (!usable || !live.target->interrupt(Deadline::after(milliseconds(5000))).ok() || ev.infra_error.size() > 0)
    state_.reset();
  phases.mark("teardown");
  return report;
}

pb::RunReport SnapshotRunner::run_incoming(pb::RunReport report, Clock::time_point t0, const Progress& progress,
                                           const std::string& go_argument) {
  report.set_restore_method("incoming");
  Phases phases(report);
  // The standby VM when one was being restored, else one now. A snapshot
  // that QEMU rejects (corrupt, or from another QEMU) is removed and made
  // again, once.
  std::optional<RunLogs> dead_logs;  // of a QEMU that died while restoring
  auto take = [&]() -> Result<std::unique_ptr<Live>> {
    const auto start = Clock::now();
    if (state_->standby.valid()) {
      auto r = state_->standby.get();
      if (state_->standby_logs) dead_logs = *state_->standby_logs;
      if (!r.ok()) return r.error();
      report.set_restore_work_ms(r->work_ms);
      return std::make_unique<Live>(std::move(r->live));
    }
    auto r = restore_incoming(ctx_, *state_->entry, &dead_logs);
    report.set_restore_work_ms(ms_since(start));
    return r;
  };
  Result<std::unique_ptr<Live>> restored = take();
  // A QEMU killed under the restore is this run's infrastructure error; the
  // snapshot is not to blame.
  if (!restored.ok() && !vm::cancelled() && !vm::says_qemu_was_killed(restored.error().message)) {
    progress("the ready-state snapshot did not restore (" + restored.error().message + "); making it again");
    const ReadySnapshotStore store(snapshot_store_dir(ctx_.options.work_dir));
    (void)store.remove(state_->entry->meta.key());
    if (Status s = prepare(progress); !s.ok()) {
      restored = s.error();
    } else {
      phases.mark("prepare");
      if (!state_->incoming) return run_loadvm(std::move(report), t0, progress, go_argument);
      restored = take();
    }
  }
  phases.mark("restore");
  if (!restored.ok()) {
    report.set_verdict(pb::INFRA_ERROR);
    report.set_reason("restoring the ready-state snapshot: " + restored.error().message);
    if (dead_logs) keep_logs(ctx_, *dead_logs, report);
    return report;
  }
  // The next run's VM, restored while this one runs.
  if (remaining_ > 0) {
    --remaining_;
    const RunContext* ctx = &ctx_;
    const ReadySnapshotStore::Entry entry = *state_->entry;
    if (!state_->worker) state_->worker = std::make_unique<StandbyWorker>();
    auto logs = std::make_shared<std::optional<RunLogs>>();
    state_->standby_logs = logs;
    // The worker follows this thread's cancellation (a racerigd job's token).
    state_->standby = state_->worker->submit([ctx, entry, logs, token = vm::current_token()]() -> Result<Restored> {
      vm::ScopedCancel scope(token);
      const auto t = Clock::now();
      RACERIG_ASSIGN(auto live, restore_incoming(*ctx, entry, logs.get()));
      Restored r;
      r.live = std::move(*live);
      r.work_ms = ms_since(t);
      return r;
    });
  }
  Live& live = **restored;
  vm::Machine& vm = *live.vm;
  Evidence ev;
  VmMonitor monitor(vm, ctx_.scenario.scenario.expect());
  monitor.assume_ready();
  enforce(ctx_, live, monitor, ev, report, t0, phases, go_argument.empty() ? "go" : "go " + go_argument, progress);
  judge(ctx_, vm, monitor, ev, report, t0, phases, state_->setup_events);
  report.set_console(vm.console_log());
  // The VM is disposable: its writes went to private copies only.
  Status s = vm.shutdown(Deadline::after(milliseconds(5000)));
  if (!s.ok() && report.verdict() != pb::INFRA_ERROR)
    report.set_reason(report.reason() + " (teardown: " + s.error().message + ")");
  keep_logs(ctx_, vm, vm.console_log(), report);
  phases.mark("teardown");
  return report;
}

}  // namespace racerig::run
