// `racerig explore` (see explore.h).
#include "rig/explore/explore.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "rig/dwarf/symbols.h"
#include "rig/explore/points.h"
#include "rig/explore/prune.h"
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

pb::ExploreReport explore(const run::RunContext& ctx, const ExploreOptions& options, const run::Progress& progress) {
  const auto t0 = Clock::now();
  const pb::Scenario& sc = ctx.scenario.scenario;
  pb::ExploreReport report;
  report.set_scenario(sc.name());
  report.set_kernel_variant(ctx.kernel.variant);
  report.set_kernel_build_id(ctx.kernel.build_id);
  int total = 0;  // schedules planned
  auto finish = [&]() -> pb::ExploreReport {
    report.set_total(std::max(total, report.schedules_size()));
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

  // The traces: every window address armed, nothing held but the actors
  // parked until the traced one went through the window.
  run::SnapshotRunner runner(ctx);
  std::map<std::string, std::vector<pb::ExplorePoint>> points;
  for (const auto& actor : actors) {
    if (process::cancelled()) return finish();
    const auto t_trace = Clock::now();
    progress("tracing " + actor + " through " + std::to_string(window.size()) +
             " addresses of the window, the others parked at their first arrival");
    runner.expect_runs(1);
    run::SnapshotRunner::Schedule trace_only{{}, window.addresses(), actor};
    pb::RunReport trace = runner.run(0, progress, {}, &trace_only);
    report.set_trace_ms(report.trace_ms() + ms_since(t_trace));
    points[actor] = points_of(window, trace.events())[actor];
    for (const auto& p : points[actor]) *report.add_trace() = p;
    const pb::Verdict verdict = trace.verdict();
    const std::string reason = trace.reason();
    const std::string standing = trace_standing(trace.events());
    *report.add_trace_runs() = kept(std::move(trace), verdict);
    if (verdict == pb::INFRA_ERROR || verdict == pb::STALLED || verdict == pb::DEADLOCK) {
      report.set_error("tracing " + actor + ": " + std::string(verdict::verdict_name(verdict)) + ": " + reason +
                       " (" + standing + ")");
      return finish();
    }
    if (verdict == pb::REPRODUCED || verdict == pb::OTHER_OOPS)
      progress("tracing " + actor + " crashed the kernel: its trace stops at the crash");
    if (points[actor].empty())
      progress(actor + " passed no address of the window: it is explored only as the one that runs");
  }
  if (report.trace_size() == 0) {
    report.set_error("no explored actor passed any address of the window (" + std::to_string(window.size()) +
                     " addresses); check the window's functions");
    return finish();
  }

  // Depth 1: one schedule per ordered pair and point of the held actor.
  struct Planned {
    std::string held, runner;
    pb::ExplorePoint point;
    const pb::ExplorePoint* runner_point = nullptr;  // depth 2
    Schedule schedule;
  };
  auto first_of = [&](const std::string& actor) -> const pb::ExplorePoint* {
    return points[actor].empty() ? nullptr : &points[actor].front();
  };
  std::vector<Planned> plan;
  for (const auto& held : actors)
    for (const auto& other : actors) {
      if (other == held) continue;
      for (const auto& p : points[held])
        plan.push_back({held, other, p, nullptr, schedule_for(window, held, p, other, first_of(other))});
    }
  if (options.max_schedules > 0 && static_cast<int>(plan.size()) > options.max_schedules)
    plan.resize(static_cast<size_t>(options.max_schedules));

  // The VMs the schedules run on: the trace's runner, and more restored
  // from the same cached snapshot when the host has the cores for them
  // (options.vms; 0: host cores / guest vCPUs). loadvm keeps one VM: each
  // of its runners would boot and save its own.
  std::vector<std::unique_ptr<run::SnapshotRunner>> extra;
  std::mutex mu;  // report, progress, the plan's cursor
  const run::Progress locked_progress = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    progress(line);
  };
  auto add_vms = [&]() {
    const int guest_cpus = std::max(1, ctx.options.cpus > 0 ? ctx.options.cpus : ctx.scenario.vcpus);
    const int wanted = options.vms > 0       ? options.vms
                       : ctx.options.vms > 0 ? ctx.options.vms
                                             : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / guest_cpus);
    report.set_vms(1);
    if (wanted <= 1 || runner.method() != "incoming") return;
    for (int k = 1; k < wanted && !process::cancelled(); ++k) {
      auto r = std::make_unique<run::SnapshotRunner>(ctx);
      if (Status s = r->prepare(progress); !s.ok()) {
        progress("schedules run on " + std::to_string(k) + " VM(s): another one could not be prepared: " +
                 s.error().message);
        break;
      }
      extra.push_back(std::move(r));
    }
    report.set_vms(static_cast<uint32_t>(1 + extra.size()));
    progress("schedules run on " + std::to_string(1 + extra.size()) + " VMs at once");
  };

  // Runs plan[from...] as schedules from+1...; each VM takes the next
  // schedule when its last one ended. Stops taking new ones when `stop`
  // says so after a schedule (those running finish). The report's
  // schedules are in index order on return.
  total = static_cast<int>(plan.size());
  auto run_plan = [&](size_t from, const std::function<bool(const pb::ExploredSchedule&)>& stop) {
    size_t next = from;
    bool stopped = false;
    auto work = [&](run::SnapshotRunner& vm) {
      while (true) {
        size_t i;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (stopped || next >= plan.size() || process::cancelled()) return;
          i = next++;
          // A standby restore only when this VM is likely to take another.
          vm.expect_runs(static_cast<int>(std::min<size_t>(1, plan.size() - next)));
        }
        const Planned& p = plan[i];
        const auto t = Clock::now();
        run::SnapshotRunner::Schedule s{p.schedule.steps, {}};
        pb::RunReport r = vm.run(static_cast<int>(i) + 1, locked_progress, {}, &s);
        std::lock_guard<std::mutex> lock(mu);
        pb::ExploredSchedule& e = *report.add_schedules();
        e.set_index(static_cast<int>(i) + 1);
        e.set_held(p.held);
        *e.mutable_point() = p.point;
        e.set_runner(p.runner);
        e.set_depth(p.runner_point == nullptr ? 1 : 2);
        if (p.runner_point != nullptr) *e.mutable_runner_point() = *p.runner_point;
        e.set_verdict(r.verdict());
        e.set_serialized(r.serialized());
        e.set_reason(r.reason());
        e.set_wall_ms(ms_since(t));
        for (const auto& step : p.schedule.scenario) *e.add_schedule() = step;
        *e.mutable_run() = kept(std::move(r), e.verdict());
        if (e.verdict() == pb::REPRODUCED) report.set_reproduced(report.reproduced() + 1);
        if (options.on_schedule) options.on_schedule(e, total);
        if (stop && stop(e)) stopped = true;
      }
    };
    std::vector<std::thread> threads;
    for (auto& vm : extra) threads.emplace_back([&work, &vm] { work(*vm); });
    work(runner);
    for (auto& t : threads) t.join();
    auto* all = report.mutable_schedules();
    std::sort(all->pointer_begin(), all->pointer_end(),
              [](const pb::ExploredSchedule* a, const pb::ExploredSchedule* b) { return a->index() < b->index(); });
    return stopped;
  };
  add_vms();
  report.set_depth(1);
  progress(std::to_string(total) + " schedules to run");
  run_plan(0, {});
  if (options.depth < 2 || process::cancelled()) return finish();

  // Depth 2: from the held points depth 1 left (prune.h), the runner to
  // each of its points.
  report.set_depth(2);
  // A failure after a serialization depends on how the released actors
  // met afterwards: only a forced one makes depth 2 unneeded.
  bool forced_failure = false;
  for (const auto& s : report.schedules())
    forced_failure = forced_failure || (verdict::kernel_failed(s.verdict()) && !s.serialized());
  if (forced_failure && options.depth2_until_failure) {
    report.set_depth2_stopped_at_failure(true);
    progress("depth 2 skipped: depth 1 already forced a failure of the kernel");
    return finish();
  }
  const size_t depth1 = plan.size();
  int candidates = 0;
  for (const auto& held : actors)
    for (const auto& other : actors) {
      if (other == held) continue;
      candidates += static_cast<int>(points[held].size() * points[other].size());
      for (const auto& p : depth2_holds(points[held], held, other, report.schedules()))
        for (const auto& q : points[other])
          plan.push_back({held, other, p, &q, schedule_depth2(window, held, p, other, first_of(other), q)});
    }
  report.set_depth2_candidates(candidates);
  report.set_depth2_planned(static_cast<int>(plan.size() - depth1));
  if (options.max_schedules > 0 && static_cast<int>(plan.size()) > options.max_schedules)
    plan.resize(static_cast<size_t>(std::max<int>(options.max_schedules, static_cast<int>(depth1))));
  total = static_cast<int>(plan.size());
  progress("depth 2: " + std::to_string(plan.size() - depth1) + " schedules of " + std::to_string(candidates) +
           " pairs of points (" + std::to_string(candidates - static_cast<int>(plan.size() - depth1)) +
           " pruned by depth 1)");
  const bool stopped = run_plan(depth1, [&](const pb::ExploredSchedule& e) {
    return options.depth2_until_failure && verdict::kernel_failed(e.verdict());
  });
  if (stopped) {
    report.set_depth2_stopped_at_failure(true);
    progress("depth 2 stopped at its first failure");
  }
  return finish();
}

}  // namespace racerig::explore
