// Judging a run (see judge.h).
#include "rig/run/judge.h"

#include <chrono>
#include <string>

#include "rig/crash/oops.h"
#include "rig/dwarf/symbols.h"
#include "rig/verdict/verdict.h"

namespace racerig::run {

pb::Verdict judge(const RunContext& ctx, RunState& run, const std::vector<pb::AgentEvent>& earlier_events) {
  const machine::Machine& vm = run.vm();
  VmMonitor& monitor = *run.monitor;
  verdict::Evidence& ev = run.evidence;
  pb::RunReport& report = run.report;
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
    report.set_time_to_oops_ms(std::chrono::duration<double, std::milli>(o->second - run.t0).count());
  } else if (ev.crash_vcpu >= 0) {
    // Stopped on the oops path before the report (--attach): the crash as
    // read from its exception frame.
    ev.oops = true;
    ev.oops_report = ev.crash_stop;
  }
  for (const auto& e : ev.agent) *report.add_agent() = e;
  if (ev.oops) {
    crash::decode(ev.oops_report, *ctx.symbols);
    *report.mutable_oops() = ev.oops_report;
  }
  std::string reason;
  report.set_verdict(verdict::decide(ctx.scenario.scenario.expect(), ev, &reason));
  report.set_reason(reason);
  report.set_schedule_enforced(!ev.unforced && ev.schedule_ran && ev.schedule == schedule::Outcome::Kind::kEnforced);
  report.set_serialized(ev.serialized);
  run.phases.mark("verdict");
  return report.verdict();
}

}  // namespace racerig::run
