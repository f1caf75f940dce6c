// One forced run (see run.h).
#include "rig/run/run.h"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "guest/initramfs/initramfs.h"
#include "rig/crash/oops.h"
#include "rig/gdbremote/client.h"
#include "rig/run/agent_events.h"
#include "rig/run/verdict.h"
#include "rig/dwarf/symbols.h"
#include "rig/qemu/cancel.h"
#include "rig/qemu/vm.h"

namespace racerig::run {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// The gdbstub behind the schedule engine's Target interface; guest output
// (console and agent lines) wakes wait() through the VM's event fd.
class RspTarget : public schedule::Target {
 public:
  RspTarget(gdbremote::Client& client, vm::Vm& vm, int vcpus) : client_(client), vm_(vm), vcpus_(vcpus) {}
  int vcpu_count() const override { return vcpus_; }
  Status insert_breakpoint(GuestAddr addr, Deadline d) override {
    return client_.insert_breakpoint(addr, gdbremote::BreakpointKind::kSoftware, d);
  }
  Status remove_breakpoint(GuestAddr addr, Deadline d) override {
    return client_.remove_breakpoint(addr, gdbremote::BreakpointKind::kSoftware, d);
  }
  Status resume(const std::vector<int>& vcpus, Deadline d) override {
    std::vector<gdbremote::Client::ThreadAction> actions;
    for (int v : vcpus) actions.push_back({v + 1, gdbremote::Client::ThreadAction::kContinue});
    return client_.resume(actions, d);
  }
  Result<schedule::StopEvent> wait(Deadline d) override {
    if (vm::cancelled()) return make_error(ErrorKind::kInternal, "cancelled (SIGINT/SIGTERM)");
    auto r = client_.wait_stop(d, vm_.event_fd());
    if (!r.ok()) {
      if (r.error().kind == ErrorKind::kTimeout) return r.error();
      if (vm_.exited()) return schedule::StopEvent{schedule::StopEvent::Kind::kExited, -1, 0};
      return r.error();
    }
    return convert(*r);
  }
  Result<schedule::StopEvent> interrupt(Deadline d) override {
    RACERIG_ASSIGN(gdbremote::StopReply reply, client_.interrupt(d));
    return from_reply(reply);
  }
  Status step(int vcpu, Deadline d) override {
    auto r = client_.step(vcpu + 1, d);
    if (!r.ok()) return r.error();
    return Status::Ok();
  }
  Result<uint64_t> read_register(int vcpu, std::string_view name, Deadline d) override {
    return client_.read_register(vcpu + 1, name, d);
  }
  Result<std::vector<uint8_t>> read_memory(int vcpu, GuestAddr addr, size_t len, Deadline d) override {
    return client_.read_memory(vcpu + 1, addr, len, d);
  }

 private:
  static schedule::StopEvent from_reply(const gdbremote::StopReply& reply) {
    schedule::StopEvent ev;
    if (reply.kind == gdbremote::StopReply::Kind::kExited || reply.kind == gdbremote::StopReply::Kind::kTerminated) {
      ev.kind = schedule::StopEvent::Kind::kExited;
      return ev;
    }
    ev.signal = reply.signal;
    ev.vcpu = reply.thread > 0 ? reply.thread - 1 : -1;
    ev.kind = reply.signal == 5 ? schedule::StopEvent::Kind::kBreakpoint : schedule::StopEvent::Kind::kOtherStop;
    return ev;
  }
  schedule::StopEvent convert(const gdbremote::WaitResult& r) {
    if (r.woken) return schedule::StopEvent{schedule::StopEvent::Kind::kWoken, -1, 0};
    return from_reply(r.stop);
  }

  gdbremote::Client& client_;
  vm::Vm& vm_;
  int vcpus_;
};

// Everything the guest said: the console through the oops parser, the agent
// port through the event parser.
class VmMonitor : public schedule::GuestMonitor {
 public:
  VmMonitor(vm::Vm& vm, const pb::Expectation& expect) : vm_(vm), expect_(expect) {}

  schedule::GuestStatus poll() override {
    vm_.drain_events();
    for (const std::string& line : vm_.take_new_console_lines()) parser_.feed_line(line);
    for (const std::string& line : vm_.take_new_agent_lines()) {
      auto ev = parse_agent_line(line);
      if (!ev) continue;
      switch (ev->kind()) {
        case pb::AgentEvent::READY: ready_ = true; break;
        case pb::AgentEvent::ACTOR_DONE: status_.actors_done.insert(ev->actor()); break;
        case pb::AgentEvent::DONE:
          done_ = true;
          status_.agent_finished = true;
          status_.agent_note = "DONE";
          break;
        case pb::AgentEvent::FATAL:
          fatal_ = true;
          status_.agent_finished = true;
          status_.agent_note = "FATAL: " + ev->message();
          break;
        default: break;
      }
      if (first_event_ms_ < 0) first_event_ms_ = 1;  // marks that the agent started
      events_.push_back(std::move(*ev));
    }
    if (vm_.exited() && !status_.agent_finished) {
      status_.agent_finished = true;
      status_.agent_note = "QEMU exited";
    }
    if (auto oops = parser_.first_report()) {
      status_.oops = true;
      status_.oops_headline = oops->headline();
    }
    while (seen_at_.size() < parser_.reports().size()) seen_at_.push_back(Clock::now());
    return status_;
  }

  bool ready() const { return ready_; }
  bool done() const { return done_; }
  bool fatal() const { return fatal_; }
  bool agent_started() const { return first_event_ms_ >= 0; }
  bool oops_complete() const { return parser_.first_report_complete(); }
  // The report the verdict is about: the first one that matches the
  // expectation, else the first of all (a WARNING may come before the crash
  // that matters), with the time its first line was seen.
  std::optional<std::pair<pb::Oops, Clock::time_point>> verdict_oops() const {
    auto all = parser_.reports();
    for (size_t i = 0; i < all.size(); ++i)
      if (oops_matches(expect_, all[i])) return std::pair{all[i], seen_at(i)};
    if (all.empty()) return std::nullopt;
    return std::pair{all.front(), seen_at(0)};
  }
  // A complete report worth stopping for: one that matches, or one that is
  // not a WARNING (the kernel is going down). After a WARNING the kernel
  // goes on, and so does the run.
  bool decisive_oops_complete() const {
    for (const auto& r : parser_.complete_reports())
      if (oops_matches(expect_, r) || r.kind() != "WARNING") return true;
    return false;
  }
  std::optional<pb::Oops> oops() const { return parser_.first_report(); }
  const std::vector<pb::AgentEvent>& events() const { return events_; }

 private:
  vm::Vm& vm_;
  oops::ConsoleParser parser_;
  schedule::GuestStatus status_;
  std::vector<pb::AgentEvent> events_;
  bool ready_ = false, done_ = false, fatal_ = false;
  double first_event_ms_ = -1;
  const pb::Expectation& expect_;
  std::vector<Clock::time_point> seen_at_;
  Clock::time_point seen_at(size_t i) const { return i < seen_at_.size() ? seen_at_[i] : Clock::now(); }
};

std::string tail_lines(const std::string& text, size_t n) {
  size_t pos = text.size();
  for (size_t i = 0; i < n && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

// Waits while the VM runs until `done()` says so, the guest ends, or the
// deadline passes. Returns false on the deadline.
template <typename Done>
Result<bool> wait_running(RspTarget& target, VmMonitor& monitor, Deadline deadline, Done done) {
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
      // Nothing of ours is armed: a stop here is unexpected; go on.
      RACERIG_TRY(target.resume({0, 1}, Deadline::after(milliseconds(5000))));
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
  auto resolver = [&](std::string_view spec) -> Result<scenario::ResolvedPoint> {
    RACERIG_ASSIGN(auto p, syms->resolve(spec));
    return scenario::ResolvedPoint{p.addr, p.function, p.offset};
  };
  RACERIG_ASSIGN(ctx.steps, scenario::resolve_schedule(loaded, resolver));
  ctx.scenario = std::move(loaded);
  if (!ctx.steps.empty()) {
    RACERIG_ASSIGN(GuestAddr current, syms->address_of("current_task"));
    RACERIG_ASSIGN(uint64_t comm, syms->member_offset("task_struct", "comm"));
    RACERIG_ASSIGN(uint64_t pid, syms->member_offset("task_struct", "pid"));
    ctx.task = schedule::TaskLayout{current.value(), comm, pid};
  }
  RACERIG_ASSIGN(ctx.base_initramfs, guest::base_initramfs(options.work_dir));
  return ctx;
}

pb::RunReport run_once(const RunContext& ctx, int index, const Progress& progress) {
  const auto t0 = Clock::now();
  pb::RunReport report;
  report.set_run(index);
  report.set_scenario(ctx.scenario.scenario.name());
  report.set_kernel_variant(ctx.kernel.variant);
  report.set_kernel_build_id(ctx.kernel.build_id);
  const pb::Scenario& sc = ctx.scenario.scenario;
  auto deadline_s = [](uint32_t v, uint32_t dflt) { return static_cast<double>(v != 0 ? v : dflt); };
  auto phase = [&](const std::string& name, Clock::time_point& since) {
    pb::PhaseTiming* t = report.add_timings();
    t->set_phase(name);
    t->set_ms(ms_since(since));
    since = Clock::now();
  };
  auto infra = [&](const std::string& what) {
    report.set_verdict(pb::INFRA_ERROR);
    report.set_reason(what);
    return report;
  };

  // Guest image: the cached base plus this run's plan.
  pb::GuestPlan plan;
  *plan.mutable_workload() = sc.workload();
  plan.set_wait_for_go(!ctx.steps.empty());
  auto initrd = guest::write_run_initramfs(ctx.base_initramfs, plan);
  if (!initrd.ok()) return infra(initrd.error().message);

  vm::VmConfig cfg;
  cfg.qemu = ctx.options.qemu;
  cfg.bzimage = ctx.kernel.bzimage;
  cfg.initrd = initrd->path();
  cfg.append = ctx.options.append;
  cfg.cpus = ctx.options.cpus;
  cfg.kvm = ctx.options.kvm;
  cfg.start_paused = true;
  progress("booting " + ctx.kernel.variant);
  Clock::time_point since = Clock::now();
  auto started = vm::Vm::start(cfg, Deadline::after(milliseconds(30000)));
  if (!started.ok()) return infra("starting QEMU: " + started.error().message);
  std::unique_ptr<vm::Vm> vm = std::move(*started);

  auto conn = gdbremote::Connection::connect_unix(vm->gdb_socket_path(), Deadline::after(milliseconds(10000)));
  if (!conn.ok()) return infra("connecting to the gdbstub: " + conn.error().message);
  gdbremote::Client client(std::move(*conn));
  if (Status s = client.handshake(Deadline::after(milliseconds(10000))); !s.ok())
    return infra("gdbstub handshake: " + s.error().message);
  RspTarget target(client, *vm, ctx.options.cpus);
  VmMonitor monitor(*vm, sc.expect());
  std::vector<int> all;
  for (int v = 0; v < ctx.options.cpus; ++v) all.push_back(v);

  Evidence ev;
  Clock::time_point oops_at = t0;
  auto collect = [&]() {
    monitor.poll();
    ev.agent = monitor.events();
    ev.agent_done = monitor.done();
    ev.agent_fatal = monitor.fatal();
    if (auto o = monitor.verdict_oops()) {
      ev.oops = true;
      ev.oops_report = o->first;
      oops_at = o->second;
    }
  };
  auto finish = [&](Clock::time_point& since_teardown) {
    collect();
    for (const auto& e : ev.agent) *report.add_agent() = e;
    if (ev.oops) {
      oops::decode(ev.oops_report, *ctx.symbols);
      *report.mutable_oops() = ev.oops_report;
      report.set_time_to_oops_ms(std::chrono::duration<double, std::milli>(oops_at - t0).count());
    }
    std::string reason;
    report.set_verdict(decide(sc.expect(), ev, &reason));
    report.set_reason(reason);
    report.set_schedule_enforced(ev.schedule_ran && ev.schedule == schedule::Outcome::Kind::kEnforced);
    phase("verdict", since_teardown);
    if (ctx.options.attach && report.verdict() == pb::REPRODUCED) {
      progress("attach: the VM is stopped; gdb " + ctx.kernel.vmlinux.string() + " -ex 'target remote " +
               vm->gdb_socket_path() + "'");
      auto stop = client.interrupt(Deadline::after(milliseconds(5000)));
      (void)stop;
      client.close_keep_stopped();
      vm->wait_until_exit_or_cancel();
    }
    Status s = vm->shutdown(Deadline::after(milliseconds(10000)));
    report.set_console(vm->console_log());
    if (!s.ok() && report.verdict() != pb::INFRA_ERROR) report.set_reason(report.reason() + " (teardown: " + s.error().message + ")");
    phase("teardown", since_teardown);
    return report;
  };

  // Boot and guest set-up: run every vCPU until the agent is READY.
  if (Status s = target.resume(all, Deadline::after(milliseconds(5000))); !s.ok())
    return infra("starting the guest: " + s.error().message);
  auto booted = wait_running(target, monitor, Deadline::after_seconds(deadline_s(sc.deadlines().boot_s(), 120)),
                             [&] { return monitor.agent_started() || monitor.fatal() || vm->exited(); });
  phase("boot", since);
  auto ready = booted.ok() && *booted
                   ? wait_running(target, monitor, Deadline::after_seconds(deadline_s(sc.deadlines().boot_s(), 120)),
                                  [&] {
                                    return monitor.ready() || monitor.fatal() || monitor.done() || vm->exited() ||
                                           monitor.decisive_oops_complete();
                                  })
                   : booted;
  phase("guest_setup", since);
  if (!ready.ok() || !*ready || !monitor.ready()) {
    ev.schedule_ran = false;
    ev.schedule_reason = !ready.ok()      ? ready.error().message
                         : !*ready        ? "the guest was not ready within the boot deadline; console tail:\n" +
                                         tail_lines(vm->console_log(), 15)
                         : monitor.fatal() ? "the agent failed during set-up"
                                           : "the guest ended during set-up; console tail:\n" +
                                                 tail_lines(vm->console_log(), 15);
    ev.infra_error = ev.schedule_reason;
    return finish(since);
  }

  // The schedule.
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
  schedule::Engine engine(target, monitor, ec, report.mutable_events());
  schedule::Outcome outcome;
  if (!ctx.steps.empty()) {
    auto stop = target.interrupt(Deadline::after(milliseconds(5000)));
    Status armed = stop.ok() ? engine.arm() : Status(stop.error());
    if (!armed.ok()) {
      ev.infra_error = "arming the schedule: " + armed.error().message;
      return finish(since);
    }
    if (Status s = vm->send_agent_line("go\n"); !s.ok()) {
      ev.infra_error = "telling the agent to go: " + s.error().message;
      return finish(since);
    }
    outcome = engine.execute();
  }
  ev.schedule_ran = true;
  ev.schedule = outcome.kind;
  ev.schedule_reason = outcome.reason;
  for (const auto& v : outcome.vcpus) *report.add_vcpus() = v;
  phase("schedule", since);

  // After the schedule: until the agent is done, the kernel oopsed (and
  // printed the whole report), or the guest is gone.
  if (outcome.kind == schedule::Outcome::Kind::kEnforced) {
    auto finished = wait_running(target, monitor, Deadline::after_seconds(deadline_s(sc.deadlines().finish_s(), 60)),
                                 [&] { return monitor.done() || monitor.fatal() || vm->exited() || monitor.decisive_oops_complete(); });
    if (!finished.ok()) {
      ev.infra_error = "waiting for the guest: " + finished.error().message;
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
    if (engine.disarm().ok() && target.resume(all, Deadline::after(milliseconds(5000))).ok())
      (void)wait_running(target, monitor, Deadline::after(milliseconds(5000)), [&] { return monitor.decisive_oops_complete(); });
  }
  return finish(since);
}

}  // namespace racerig::run
