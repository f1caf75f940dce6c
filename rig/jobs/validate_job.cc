// The validate job (see validate_job.h).
#include "rig/jobs/validate_job.h"

#include <map>

#include "rig/dwarf/symbols.h"
#include "rig/explore/explore.h"
#include "rig/jobs/explore_cache.h"
#include "rig/jobs/kernels.h"
#include "rig/jobs/wire.h"
#include "rig/process/cancel.h"
#include "rig/run/snapshot_runner.h"
#include "rig/scenario/scenario.h"
#include "rig/verdict/validate.h"
#include "rig/verdict/verdict.h"

namespace racerig::jobs {

namespace {

pb::ReproduceReport run_many(const run::RunContext& ctx, int runs, const std::string& label, bool cold,
                             JobObserver& observer) {
  pb::ReproduceReport out;
  out.set_scenario(ctx.scenario.scenario.name());
  out.set_kernel_variant(ctx.kernel.variant);
  out.set_kernel_build_id(ctx.kernel.build_id);
  run::SnapshotRunner snapshots(ctx);
  for (int i = 1; i <= runs && !process::cancelled(); ++i) {
    auto progress = [&](const std::string& line) { observer.run_progress(i, line); };
    snapshots.expect_runs(runs - i);  // the next run's VM is restored while this one runs
    pb::RunReport r = cold ? run::run_once(ctx, i, progress) : snapshots.run(i, progress);
    observer.run_done(label, r);
    if (r.verdict() == pb::REPRODUCED) out.set_reproduced(out.reproduced() + 1);
    *out.add_runs() = std::move(r);
  }
  out.set_total(out.runs_size());
  return out;
}

// The first run whose schedule forced a failure of the kernel, or nullptr:
// REPRODUCED or OTHER_OOPS with the schedule enforced, or a DEADLOCK (the
// lock cycle is the proof). A crash after a serialization depends on how
// the released actors met: real, but the exploration still looks for a
// schedule that forces one.
const pb::RunReport* forced_failing_run(const pb::ReproduceReport& r) {
  for (const auto& run : r.runs())
    if (run.verdict() == pb::DEADLOCK || (verdict::kernel_failed(run.verdict()) && !run.serialized()))
      return &run;
  return nullptr;
}

// The map of one kernel, its schedules shown as they end.
pb::ExploreReport explore_kernel(const run::RunContext& ctx, const std::string& label, int depth,
                                 JobObserver& observer) {
  explore::ExploreOptions eo;
  eo.depth = depth;
  eo.depth2_until_failure = true;
  eo.on_schedule = [&](const pb::ExploredSchedule& s, int total) {
    observer.note(label + ": schedule " + std::to_string(s.index()) + " of " + std::to_string(total) + ": " +
                  verdict::schedule_label(s) + ": " + verdict::verdict_name(s.verdict()) +
                  (s.serialized() ? " (serialized)" : ""));
  };
  observer.note("exploring " + label);
  return explore::explore(ctx, eo, [&](const std::string& line) { observer.note(label + ": " + line); });
}

std::string label_of(const run::KernelFiles& k, const run::KernelFiles* control) {
  return &k == control ? k.variant + " (control)" : k.variant;
}

// The first schedule of a map at which the kernel failed, or nullptr.
const pb::ExploredSchedule* failing_schedule(const pb::ExploreReport& map) {
  for (const auto& s : map.schedules())
    if (verdict::kernel_failed(s.verdict())) return &s;
  return nullptr;
}

// The maps of an exploring validate, after both kernels' forced runs. The
// patched kernel goes first: once it has failed (on the scenario's own
// schedule or at an explored point) NOT_FIXED is proven and no map changes
// that, so neither kernel is explored further. Only a candidate that
// survives its own map needs the control's, which shows that the window
// holds a race to fix; the control's map is the same for every candidate
// and is kept.
void explore_both(const JobEnv& env, const run::RunContext& control, const run::RunContext& patched,
                  const std::string& control_label, const std::string& patched_label, int depth,
                  pb::ScenarioValidation& v, JobObserver& observer) {
  if (const pb::RunReport* failed = forced_failing_run(v.patched())) {
    // (A kernel that deadlocks would also make every trace wait out its deadlines.)
    observer.note(patched_label + ": not explored, nor the control: the scenario's own schedule already fails it " +
                  "(run " + std::to_string(failed->run()) + ": " + verdict::verdict_name(failed->verdict()) + ")");
    return;
  }
  *v.mutable_patched_map() = explore_kernel(patched, patched_label, depth, observer);
  if (process::cancelled() || !v.patched_map().error().empty()) return;
  if (const pb::ExploredSchedule* s = failing_schedule(v.patched_map())) {
    observer.note(control_label + ": not explored: the patched kernel fails at schedule " +
                  std::to_string(s->index()) + " (" + verdict::verdict_name(s->verdict()) + ")");
    return;
  }
  const std::string key = explore_map_key(control, env.racerig_version);
  if (auto cached = load_explore_map(control.options.work_dir, key)) {
    observer.note(control_label + ": the map of " + std::to_string(cached->schedules_size()) +
                  " schedules from the cache (this kernel build, scenario and racerig explored before)");
    *v.mutable_control_map() = std::move(*cached);
    return;
  }
  *v.mutable_control_map() = explore_kernel(control, control_label, 1, observer);
  if (Status s = store_explore_map(control.options.work_dir, key, v.control_map()); !s.ok())
    observer.note(control_label + ": the map was not kept: " + s.error().message);
}

int exit_code_of(const pb::ValidateReport& report) {
  int code = 0;
  auto worse = [&](int c) {
    static const int rank[] = {0, 5, 0, 3, 1, 4};  // indexed by exit code: 1 (NOT_FIXED) worst, then 5, 3, 4
    if (rank[c] > rank[code]) code = c;
  };
  for (const auto& v : report.scenarios()) {
    switch (v.result()) {
      case pb::FIXED: break;
      case pb::NOT_FIXED: worse(1); break;
      case pb::INCONCLUSIVE: worse(kExitInconclusive); break;
      default: worse(3); break;
    }
  }
  return code;
}

}  // namespace

Result<ValidateOutcome> run_validate(const JobEnv& env, const ValidateRequest& request, JobObserver& observer,
                                     std::shared_ptr<process::CancelToken> cancel) {
  process::ScopedCancel scope(std::move(cancel));
  const run::RunOptions& options = request.options;

  // Scenarios first: input errors before anything builds.
  std::vector<std::string> names = request.scenarios;
  if (names.size() == 1 && names[0] == "all") {
    names = scenario::list_scenarios(env.scenarios_dir());
  } else if (names.empty()) {
    RACERIG_ASSIGN(kbuild::Cache cache, open_cache(env));
    RACERIG_ASSIGN(auto variants, cache.variants());
    names = default_scenarios(variants, request.base, scenario::list_scenarios(env.scenarios_dir()));
  }
  std::vector<scenario::LoadedScenario> scenarios;
  for (const auto& n : names) {
    auto path = find_job_scenario(env, n, env.scenarios_dir());
    if (!path.ok()) return path.error().wrap("scenario");
    auto loaded = scenario::load_scenario(*path, options.cpus);
    if (!loaded.ok()) return loaded.error().wrap("scenario");
    // FIXED needs an enforced schedule: an unforced scenario cannot prove a fix.
    if (loaded->scenario.schedule().empty())
      return make_error(ErrorKind::kInput, path->string() + ": scenario \"" + loaded->scenario.name() +
                                               "\" has no schedule; validate needs a forced schedule to prove a "
                                               "fix (use racerig stress for unforced runs)")
          .wrap("scenario");
    scenarios.push_back(std::move(*loaded));
  }

  ValidateOutcome out;
  pb::ValidateReport& report = out.report;
  report = validate_error_report(env, request, Error{});
  // The patches are read and checked before anything builds.
  auto patches = read_patches(request.patches);
  if (!patches.ok()) {
    report.set_error("patch: " + patches.error().message);
    out.exit_code = 2;
    return out;
  }
  auto control = ensure_kernel(env, request.base, observer);
  if (!control.ok()) return control.error().wrap("kernel " + request.base);
  auto patched = ensure_patched_kernel(env, request.base, *patches, observer);
  if (!patched.ok()) {
    report.set_error(patched.error().message);
    out.cancelled = process::cancelled();
    out.exit_code = out.cancelled                               ? 3
                    : patched.error().kind == ErrorKind::kInput ? 2
                    : patched.error().kind == ErrorKind::kBuild ? kExitPatchError
                                                                : 3;
    return out;
  }
  report.set_patched_variant(patched->variant);
  report.set_patched_build_id(patched->build_id);

  std::map<std::string, std::shared_ptr<const dwarf::Symbols>> syms;
  for (const run::KernelFiles* k : {&*control, &*patched}) {
    auto s = dwarf::Symbols::open(k->vmlinux.string());
    if (!s.ok()) return s.error().wrap("symbols of " + k->variant);
    syms[k->variant] = std::shared_ptr<const dwarf::Symbols>(std::move(*s));
  }

  observer.note("validating " + patched->variant + " on " + request.base + " (" + std::to_string(request.runs) +
                " runs per kernel)");
  for (const auto& sc : scenarios) {
    pb::ScenarioValidation* v = report.add_scenarios();
    v->set_scenario(sc.scenario.name());
    const bool explores = request.explore && sc.scenario.has_explore();
    bool prepared = true;
    std::map<const run::KernelFiles*, run::RunContext> contexts;
    for (const run::KernelFiles* k : {&*control, &*patched}) {
      auto ctx = run::prepare_run(*k, syms[k->variant], sc, options);
      if (!ctx.ok()) {
        // A hold point that does not exist in the patched kernel: inconclusive, named.
        v->set_result(ctx.error().kind == ErrorKind::kInput ? pb::INCONCLUSIVE : pb::ERROR);
        v->set_reason(k->variant + ": " + ctx.error().message);
        prepared = false;
        break;
      }
      pb::ReproduceReport r = run_many(*ctx, request.runs, label_of(*k, &*control), request.cold, observer);
      *(k == &*control ? v->mutable_control() : v->mutable_patched()) = std::move(r);
      contexts.emplace(k, std::move(*ctx));
    }
    if (!prepared) continue;
    if (explores && !process::cancelled())
      explore_both(env, contexts.at(&*control), contexts.at(&*patched), label_of(*control, &*control),
                   label_of(*patched, &*control), request.explore_depth, *v, observer);
    std::string why;
    v->set_result(explores ? verdict::classify_explored(v->control(), v->patched(), v->control_map(),
                                                        v->patched_map(), &why)
                           : verdict::classify(v->control(), v->patched(), &why));
    v->set_reason(why);
  }
  out.cancelled = process::cancelled();
  out.exit_code = out.cancelled ? 3 : exit_code_of(report);
  return out;
}

std::vector<std::string> default_scenarios(const std::vector<pb::Variant>& variants, const std::string& base,
                                           const std::vector<std::string>& all) {
  for (const auto& v : variants)
    if (v.name() == base && v.scenarios_size() > 0) return {v.scenarios().begin(), v.scenarios().end()};
  return all;
}

pb::ValidateReport validate_error_report(const JobEnv& env, const ValidateRequest& request, const Error& error) {
  pb::ValidateReport report;
  report.set_base_variant(request.base);
  for (size_t i = 0; i < request.patches.size(); ++i)
    report.add_patches(i < request.patch_names.size() ? request.patch_names[i] : request.patches[i].string());
  report.set_racerig_version(env.racerig_version);
  report.set_qemu_version(env.qemu_version);
  report.set_error(error.message);
  return report;
}

Result<ValidateRequest> ValidateKind::from_wire(const Wire& wire, const std::filesystem::path& dir,
                                                const run::RunOptions& options) {
  ValidateRequest request;
  for (int i = 0; i < wire.patches_size(); ++i) {
    RACERIG_ASSIGN(std::filesystem::path file, write_patch(wire.patches(i), dir / "patches", i));
    request.patches.push_back(std::move(file));
    request.patch_names.push_back(wire.patches(i).name());
  }
  request.base = wire.base().empty() ? "buggy" : wire.base();
  for (int i = 0; i < wire.scenarios_size(); ++i) {
    RACERIG_ASSIGN(std::string scenario, scenario_arg(wire.scenarios(i), dir, i));
    request.scenarios.push_back(std::move(scenario));
  }
  request.runs = wire.runs();
  request.cold = wire.cold();
  request.explore = !wire.no_explore();
  if (wire.explore_depth() > 2)
    return make_error(ErrorKind::kInput,
                      "explore_depth " + std::to_string(wire.explore_depth()) + ": explore's depth is 1 or 2");
  request.explore_depth = wire.explore_depth() == 0 ? 1 : static_cast<int>(wire.explore_depth());
  request.options = options;
  return request;
}

Result<pb::SubmitValidateRequest> ValidateKind::to_wire(const Request& request, const std::string& request_id) {
  pb::SubmitValidateRequest wire;
  wire.set_request_id(request_id);
  for (const auto& path : request.patches) {
    RACERIG_ASSIGN(*wire.add_patches(), patch_file(path.string()));
  }
  wire.set_base(request.base);
  for (const auto& s : request.scenarios) {
    RACERIG_ASSIGN(*wire.add_scenarios(), scenario_ref(s));  // "all" travels as a name
  }
  wire.set_runs(request.runs);
  wire.set_cold(request.cold);
  wire.set_no_explore(!request.explore);
  wire.set_explore_depth(static_cast<uint32_t>(request.explore_depth));
  return wire;
}

JobEnd<pb::ValidateReport> ValidateKind::run(const JobEnv& env, const Request& request, JobObserver& observer,
                                             std::shared_ptr<process::CancelToken> cancel) {
  auto outcome = run_validate(env, request, observer, std::move(cancel));
  if (!outcome.ok()) return failed_end<ValidateKind>(env, request, outcome.error());
  JobEnd<pb::ValidateReport> end;
  end.exit_code = outcome->exit_code;
  end.cancelled = outcome->cancelled;
  end.error = outcome->report.error();
  end.report = std::move(outcome->report);
  return end;
}

}  // namespace racerig::jobs
