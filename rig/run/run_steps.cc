// The steps of one run, shared by run_once and SnapshotRunner (see
// run_steps.h), and the NVDIMM template (run.h).
#include "rig/run/run_steps.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "guest/initramfs/initramfs.h"
#include "rig/base/text.h"
#include "rig/crash/oops.h"
#include "rig/dwarf/symbols.h"
#include "rig/kbuild/cache.h"
#include "rig/machine/sparse_copy.h"
#include "rig/process/cancel.h"
#include "rig/qemu/vm.h"
#include "rig/run/backend.h"
#include "rig/run/crash_stop.h"

namespace racerig::run {

namespace {

double deadline_s(uint32_t v, uint32_t dflt) { return static_cast<double>(v != 0 ? v : dflt); }

std::vector<int> all_vcpus(const RunContext& ctx) {
  std::vector<int> all;
  for (int v = 0; v < ctx.options.cpus; ++v) all.push_back(v);
  return all;
}

bool wants_template(const RunContext& ctx) {
  return ctx.options.pmem_template && !ctx.scenario.scenario.workload().setup().skip_fsdax();
}

// "; console tail:\n<the console's last lines>", or that it said nothing.
std::string console_tail(const machine::Machine& vm) {
  const std::string console = last_lines(vm.console_log(), 15);
  return console.empty() ? "; the console said nothing" : "; console tail:\n" + console;
}

// "<what>: <how QEMU ended>" and the console's tail.
std::string ended_text(const std::string& what, const machine::Machine& vm) {
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

// The QEMU options every VM of this context shares (no initrd, no NVDIMM
// image choice).
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
  return cfg;
}

// Starts the VM with `cfg` through the context's backend (the VM stays
// stopped; the gdbstub is not connected yet).
Result<Live> start_live_with(const RunContext& ctx, const machine::VmConfig& cfg) {
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
  machine::VmConfig cfg = vm_config(ctx);
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
  machine::Machine& vm = *live.vm;
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
  machine::Machine& vm = *live.vm;
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
    } else if (deadlock.empty() && monitor.oops_in_progress() && !vm.exited()) {
      // The agent's "done" travels on its own port and can come before the
      // rest of an oops reaches the console: let the report end (bounded),
      // so that the verdict sees its whole call trace.
      auto ended = [&] { return !monitor.oops_in_progress() || vm.exited(); };
      const Deadline rest = Deadline::after(milliseconds(5000));
      if (ctx.steps.empty())
        (void)wait_running(target, monitor, rest, ended, ctx.options.cpus);
      else
        (void)wait_after_schedule(engine, monitor, rest, ended, milliseconds(5000), nullptr);
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
void judge(const RunContext& ctx, const machine::Machine& vm, VmMonitor& monitor, Evidence& ev, pb::RunReport& report,
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
  if (!keeps_logs(report.verdict()) || ctx.options.logs_dir.empty() || process::cancelled()) return;
  auto kept = keep_run_logs(ctx.options.logs_dir,
                            kept_logs_name(std::time(nullptr), report.scenario(), report.kernel_variant(), report.run()),
                            logs);
  if (kept.ok())
    report.set_kept_logs(kept->string());
  else
    report.set_reason(report.reason() + " (its logs could not be kept: " + kept.error().message + ")");
}
void keep_logs(const RunContext& ctx, const machine::Machine& vm, const std::string& console, pb::RunReport& report) {
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
  machine::Machine& vm = *live.vm;
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
  Status copied = machine::copy_sparse(vm.pmem_image_path(), mine);
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

}  // namespace racerig::run
