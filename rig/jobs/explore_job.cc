// The explore job (see explore_job.h).
#include "rig/jobs/explore_job.h"

#include "rig/dwarf/symbols.h"
#include "rig/explore/explore.h"
#include "rig/jobs/kernels.h"
#include "rig/jobs/wire.h"
#include "rig/scenario/scenario.h"
#include "rig/verdict/verdict.h"

namespace racerig::jobs {

Result<ExploreOutcome> run_explore(const JobEnv& env, const ExploreRequest& request, JobObserver& observer,
                                   std::shared_ptr<process::CancelToken> cancel) {
  process::ScopedCancel scope(std::move(cancel));
  // Input first: the scenario must parse, validate and declare a window
  // before anything builds or boots.
  auto path = find_job_scenario(env, request.scenario, env.scenarios_dir());
  if (!path.ok()) return path.error().wrap("scenario");
  auto loaded = scenario::load_scenario(*path, request.options.cpus);
  if (!loaded.ok()) return loaded.error().wrap("scenario");
  if (!loaded->scenario.has_explore()) {
    const std::string name = loaded->scenario.name().empty() ? request.scenario : loaded->scenario.name();
    return make_error(ErrorKind::kInput, name + " has no explore {} block to explore").wrap("scenario");
  }

  auto kernel = ensure_kernel(env, request.kernel, observer);
  if (!kernel.ok()) return kernel.error().wrap("kernel " + request.kernel);
  observer.note("loading symbols from " + kernel->vmlinux.string());
  auto syms = dwarf::Symbols::open(kernel->vmlinux.string());
  if (!syms.ok()) return syms.error().wrap("symbols");
  std::shared_ptr<const dwarf::Symbols> shared(std::move(*syms));
  auto ctx = run::prepare_run(*kernel, shared, std::move(*loaded), request.options);
  if (!ctx.ok()) return ctx.error().wrap("scenario");

  explore::ExploreOptions options;
  options.max_schedules = request.max_schedules;
  options.depth = request.depth;
  options.vms = request.vms;
  options.on_schedule = [&](const pb::ExploredSchedule& done, int total) { observer.note(schedule_line(done, total)); };
  ExploreOutcome out;
  out.report = explore::explore(*ctx, options, [&](const std::string& line) { observer.note(line); });
  if (out.report.scenario().empty()) out.report.set_scenario(ctx->scenario.scenario.name());
  if (out.report.kernel_variant().empty()) out.report.set_kernel_variant(kernel->variant);
  if (out.report.kernel_build_id().empty()) out.report.set_kernel_build_id(kernel->build_id);
  out.report.set_racerig_version(env.racerig_version);
  out.report.set_qemu_version(env.qemu_version);
  out.cancelled = process::cancelled();
  return out;
}

std::string schedule_line(const pb::ExploredSchedule& done, int total) {
  const pb::ExplorePoint& p = done.point();
  std::string verdict = verdict::verdict_name(done.verdict());
  if (done.serialized()) verdict += " (serialized)";
  return "schedule " + std::to_string(done.index()) + " of " + std::to_string(total) + ": " + done.held() + " at " +
         p.function() + " " + p.file() + ":" + std::to_string(p.line()) + " #" + std::to_string(p.visit()) + " while " +
         done.runner() + " runs: " + verdict;
}

int explore_exit_code(const ExploreOutcome& outcome) {
  const pb::ExploreReport& r = outcome.report;
  if (outcome.cancelled || !r.error().empty()) return 3;
  int reproduced = 0;
  for (const auto& s : r.schedules()) {
    if (s.verdict() == pb::INFRA_ERROR) return 3;
    if (s.verdict() == pb::REPRODUCED) ++reproduced;
  }
  return reproduced > 0 ? 0 : 1;
}

JobEnd<pb::ExploreReport> explore_end(ExploreOutcome outcome) {
  JobEnd<pb::ExploreReport> end;
  end.exit_code = explore_exit_code(outcome);
  end.cancelled = outcome.cancelled;
  end.error = outcome.report.error();
  end.failed = !end.error.empty() && outcome.report.schedules_size() == 0;
  end.report = std::move(outcome.report);
  return end;
}

pb::ExploreReport explore_error_report(const JobEnv& env, const ExploreRequest& request, const Error& error) {
  pb::ExploreReport report;
  report.set_scenario(request.scenario);
  report.set_kernel_variant(request.kernel);
  report.set_racerig_version(env.racerig_version);
  report.set_qemu_version(env.qemu_version);
  report.set_error(error.message);
  return report;
}

Result<ExploreRequest> ExploreKind::from_wire(const Wire& wire, const std::filesystem::path& dir,
                                              const run::RunOptions& options) {
  ExploreRequest request;
  RACERIG_ASSIGN(request.scenario, scenario_arg(wire.scenario(), dir, 0));
  request.kernel = wire.kernel();
  request.max_schedules = wire.max_schedules();
  if (wire.depth() > 2)
    return make_error(ErrorKind::kInput, "depth " + std::to_string(wire.depth()) + ": explore's depth is 1 or 2");
  request.depth = wire.depth() == 0 ? 1 : static_cast<int>(wire.depth());
  request.options = options;
  return request;
}

Result<pb::SubmitExploreRequest> ExploreKind::to_wire(const Request& request, const std::string& request_id) {
  pb::SubmitExploreRequest wire;
  wire.set_request_id(request_id);
  RACERIG_ASSIGN(*wire.mutable_scenario(), scenario_ref(request.scenario));
  wire.set_kernel(request.kernel);
  wire.set_max_schedules(request.max_schedules);
  wire.set_depth(static_cast<uint32_t>(request.depth));
  return wire;
}

JobEnd<pb::ExploreReport> ExploreKind::run(const JobEnv& env, const Request& request, JobObserver& observer,
                                           std::shared_ptr<process::CancelToken> cancel) {
  auto outcome = run_explore(env, request, observer, std::move(cancel));
  if (!outcome.ok()) return failed_end<ExploreKind>(env, request, outcome.error());
  return explore_end(std::move(*outcome));
}

}  // namespace racerig::jobs
