// `racerig explore` (see explore.h).
#include "rig/explore/explore.h"

#include <chrono>

#include "rig/dwarf/symbols.h"
#include "rig/explore/points.h"
#include "rig/process/cancel.h"
#include "rig/run/snapshot_runner.h"
#include "rig/scenario/scenario.h"
#include "rig/verdict/verdict.h"

namespace racerig::explore {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// What a schedule's report keeps of its run: everything when the kernel
// failed or the run did not work, else the verdict's evidence without the
// console (hundreds of schedules would make the report huge).
pb::RunReport kept(pb::RunReport run, pb::Verdict verdict) {
  const bool whole = verdict == pb::REPRODUCED || verdict == pb::OTHER_OOPS || verdict == pb::DEADLOCK ||
                     verdict == pb::INFRA_ERROR || verdict == pb::STALLED;
  if (!whole) {
    run.clear_console();
    run.clear_agent();
  }
  return run;
}

}  // namespace

bool kernel_failed(const pb::ExploredSchedule& s) {
  return s.verdict() == pb::REPRODUCED || s.verdict() == pb::OTHER_OOPS || s.verdict() == pb::DEADLOCK;
}

pb::ExploreReport explore(const run::RunContext& ctx, const ExploreOptions& options, const run::Progress& progress) {
  const auto t0 = Clock::now();
  const pb::Scenario& sc = ctx.scenario.scenario;
  pb::ExploreReport report;
  report.set_scenario(sc.name());
  report.set_kernel_variant(ctx.kernel.variant);
  report.set_kernel_build_id(ctx.kernel.build_id);
  auto finish = [&]() -> pb::ExploreReport {
    report.set_total(report.schedules_size());
    report.set_total_ms(ms_since(t0));
    return report;
  };
  if (!sc.has_explore()) {
    report.set_error("the scenario " + sc.name() + " has no explore {} block");
    return finish();
  }
  const pb::Explore& ex = sc.explore();
  std::vector<std::string> functions(ex.functions().begin(), ex.functions().end());
  std::vector<std::string> lines(ex.lines().begin(), ex.lines().end());
  for (const auto& f : functions) report.add_window(f);
  for (const auto& l : lines) report.add_window(l);
  auto addrs = ctx.symbols->window(functions, lines);
  if (!addrs.ok()) {
    report.set_error("the explore window: " + addrs.error().message);
    return finish();
  }
  const Window window(std::move(*addrs));
  report.set_window_addresses(static_cast<uint32_t>(window.size()));
  const std::vector<std::string> actors = scenario::explored_actors(sc);

  // The trace: every window address armed, nothing held.
  run::SnapshotRunner runner(ctx);
  const auto t_trace = Clock::now();
  progress("tracing " + std::to_string(actors.size()) + " actors through " + std::to_string(window.size()) +
           " addresses of the window");
  run::SnapshotRunner::Schedule trace_only{{}, window.addresses()};
  pb::RunReport trace = runner.run(0, progress, {}, &trace_only);
  report.set_trace_ms(ms_since(t_trace));
  auto points = points_of(window, trace.events());
  for (const auto& actor : actors)
    for (const auto& p : points[actor]) *report.add_trace() = p;
  if (trace.verdict() == pb::INFRA_ERROR || trace.verdict() == pb::STALLED || trace.verdict() == pb::DEADLOCK) {
    report.set_error("the trace run: " + std::string(verdict::verdict_name(trace.verdict())) + ": " + trace.reason());
    *report.mutable_trace_run() = std::move(trace);
    return finish();
  }
  const pb::Verdict trace_verdict = trace.verdict();
  const bool trace_crashed = trace_verdict == pb::REPRODUCED || trace_verdict == pb::OTHER_OOPS;
  *report.mutable_trace_run() = kept(std::move(trace), trace_verdict);
  if (report.trace_size() == 0) {
    report.set_error("no explored actor passed any address of the window (" + std::to_string(window.size()) +
                     " addresses); check the window's functions");
    return finish();
  }
  if (trace_crashed)
    progress("the trace run itself crashed the kernel (unforced): the trace may stop at the crash");

  // One schedule per ordered pair and point of the held actor.
  struct Planned {
    std::string held, runner;
    pb::ExplorePoint point;
    Schedule schedule;
  };
  std::vector<Planned> plan;
  for (const auto& held : actors)
    for (const auto& other : actors) {
      if (other == held) continue;
      const auto& runner_points = points[other];
      const pb::ExplorePoint* first = runner_points.empty() ? nullptr : &runner_points.front();
      for (const auto& p : points[held]) plan.push_back({held, other, p, schedule_for(window, held, p, other, first)});
    }
  if (options.max_schedules > 0 && static_cast<int>(plan.size()) > options.max_schedules)
    plan.resize(static_cast<size_t>(options.max_schedules));
  const int total = static_cast<int>(plan.size());
  progress(std::to_string(total) + " schedules to run");
  for (int i = 0; i < total && !process::cancelled(); ++i) {
    const Planned& p = plan[static_cast<size_t>(i)];
    const auto t = Clock::now();
    runner.expect_runs(total - i - 1);
    run::SnapshotRunner::Schedule s{p.schedule.steps, {}};
    pb::RunReport r = runner.run(i + 1, progress, {}, &s);
    pb::ExploredSchedule& e = *report.add_schedules();
    e.set_index(i + 1);
    e.set_held(p.held);
    *e.mutable_point() = p.point;
    e.set_runner(p.runner);
    e.set_verdict(r.verdict());
    e.set_serialized(r.serialized());
    e.set_reason(r.reason());
    e.set_wall_ms(ms_since(t));
    for (const auto& step : p.schedule.scenario) *e.add_schedule() = step;
    *e.mutable_run() = kept(std::move(r), e.verdict());
    if (e.verdict() == pb::REPRODUCED) report.set_reproduced(report.reproduced() + 1);
    if (options.on_schedule) options.on_schedule(e, total);
  }
  return finish();
}

}  // namespace racerig::explore
