// Enforcing the schedule (see enforce.h).
#include "rig/run/enforce.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "rig/dwarf/symbols.h"
#include "rig/run/crash_stop.h"
#include "rig/run/guest_wait.h"
#include "rig/schedule/engine.h"
#include "rig/schedule/tracer.h"

namespace racerig::run {

namespace {

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

// A trace run: every window address armed, nothing held; the actors run
// their operations and each arrival of theirs is recorded.
bool trace_run(const RunContext& ctx, RunState& run, const std::string& go_line, const schedule::EngineConfig& ec) {
  const pb::Scenario& sc = ctx.scenario.scenario;
  Live& live = *run.live;
  VmMonitor& monitor = *run.monitor;
  verdict::Evidence& ev = run.evidence;
  schedule::TraceConfig tc;
  tc.actors = ec.actors;
  tc.addrs = ctx.trace;
  tc.task = ec.task;
  tc.rsp_timeout = ec.rsp_timeout;
  tc.symbolize = ec.symbolize;
  tc.origin = ec.origin;
  tc.first = ctx.trace_first;
  schedule::Tracer tracer(*live.target, tc, run.report.mutable_events());
  auto stop = live.target->interrupt(Deadline::after(milliseconds(5000)));
  Status armed = stop.ok() ? tracer.arm() : Status(stop.error());
  if (!armed.ok()) {
    ev.infra_error = "arming the trace: " + armed.error().message;
    return false;
  }
  if (Status s = live.vm->send_agent_line(go_line + "\n"); !s.ok()) {
    ev.infra_error = "telling the agent to go: " + s.error().message;
    return false;
  }
  ev.schedule_ran = true;
  ev.unforced = true;
  run.phases.mark("schedule");
  machine::Machine& vm = *live.vm;
  // Two phases: the traced actor alone while the others are parked (up to
  // step_s, then they are let go), then everyone to the end (finish_s). One
  // deadline of finish_s for both made a trace whose parked phase ran out
  // its limit STALLED at the moment the others were let go.
  const double park_s = deadline_s(sc.deadlines().step_s(), 60);
  const Deadline finish_deadline = Deadline::after_seconds(park_s + deadline_s(sc.deadlines().finish_s(), 60));
  auto done = [&] {
    monitor.poll();
    return monitor.done() || monitor.fatal() || vm.exited() || monitor.decisive_oops_complete();
  };
  auto first_done = [&] {
    return monitor.poll().actors_done.count(ctx.trace_first) != 0;
  };
  auto finished = tracer.run(finish_deadline, done, milliseconds(250), first_done,
                             milliseconds(static_cast<int64_t>(park_s * 1000)));
  if (!finished.ok())
    ev.infra_error = "tracing the window: " + finished.error().message;
  else if (!*finished && !monitor.oops())
    ev.finish_timed_out = true;
  const Status disarmed = vm.exited() ? Status::Ok() : tracer.disarm();
  run.phases.mark("finish");
  return disarmed.ok() && !live.client->broken();
}

}  // namespace

bool enforce(const RunContext& ctx, RunState& run, const std::string& go_line, const Progress& progress) {
  const pb::Scenario& sc = ctx.scenario.scenario;
  Live& live = *run.live;
  VmMonitor& monitor = *run.monitor;
  verdict::Evidence& ev = run.evidence;
  pb::RunReport& report = run.report;
  RspTarget& target = *live.target;
  progress("guest ready; enforcing the schedule");
  schedule::EngineConfig ec;
  ec.actors = scenario::actors_of(sc);
  ec.steps = ctx.steps;
  ec.task = ctx.task;
  ec.step_timeout = milliseconds(static_cast<int64_t>(deadline_s(sc.deadlines().step_s(), 60) * 1000));
  ec.origin = run.t0;
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
  if (ctx.steps.empty() && !ctx.trace.empty()) return trace_run(ctx, run, go_line, ec);
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
      if (Status s = target.resume(all_vcpus(ctx.options.cpus), Deadline::after(milliseconds(5000))); !s.ok()) {
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
  run.phases.mark("schedule");

  // After the schedule (phase "finish"): until the agent is done, the kernel
  // oopsed (and printed the whole report), the guest is gone, or the actors
  // deadlocked. A stress run spends its whole budget here.
  machine::Machine& vm = *live.vm;
  const Deadline finish_deadline = Deadline::after_seconds(deadline_s(sc.deadlines().finish_s(), 60));
  auto finish_done = [&] {
    return monitor.done() || monitor.fatal() || vm.exited() || monitor.decisive_oops_complete();
  };
  if (outcome.kind == schedule::Outcome::Kind::kEnforced || ev.serialized) {
    std::vector<pb::BlockedTask> deadlock;
    auto finished = ctx.steps.empty() ? wait_running(target, monitor, finish_deadline, finish_done, ctx.options.cpus)
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
      (void)wait_after_schedule(
          engine, monitor, Deadline::after(milliseconds(5000)), [&] { return monitor.decisive_oops_complete(); },
          milliseconds(5000), nullptr);
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
  run.phases.mark("finish");
  return disarmed.ok() && outcome.kind != schedule::Outcome::Kind::kError && !live.client->broken();
}

}  // namespace racerig::run
