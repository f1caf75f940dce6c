// The reproduce job (see reproduce_job.h).
#include "rig/jobs/reproduce_job.h"

#include "rig/dwarf/symbols.h"
#include "rig/jobs/kernels.h"
#include "rig/jobs/wire.h"
#include "rig/process/cancel.h"
#include "rig/run/snapshot_runner.h"
#include "rig/scenario/scenario.h"

namespace racerig::jobs {

Result<ReproduceOutcome> run_reproduce(const JobEnv& env, const ReproduceRequest& request, JobObserver& observer,
                                       std::shared_ptr<process::CancelToken> cancel) {
  process::ScopedCancel scope(std::move(cancel));
  // Input first: the scenario must parse and validate before anything builds or boots.
  auto path = find_job_scenario(env, request.scenario, env.scenarios_dir());
  if (!path.ok()) return path.error().wrap("scenario");
  auto loaded = scenario::load_scenario(*path, request.options.cpus);
  if (!loaded.ok()) return loaded.error().wrap("scenario");

  auto kernel = ensure_kernel(env, request.kernel, observer);
  if (!kernel.ok()) return kernel.error().wrap("kernel " + request.kernel);
  observer.note("loading symbols from " + kernel->vmlinux.string());
  auto syms = dwarf::Symbols::open(kernel->vmlinux.string());
  if (!syms.ok()) return syms.error().wrap("symbols");
  std::shared_ptr<const dwarf::Symbols> shared(std::move(*syms));
  auto ctx = run::prepare_run(*kernel, shared, std::move(*loaded), request.options);
  if (!ctx.ok()) return ctx.error().wrap("scenario");

  ReproduceOutcome out;
  pb::ReproduceReport& all = out.report;
  all.set_scenario(ctx->scenario.scenario.name());
  all.set_kernel_variant(kernel->variant);
  all.set_kernel_build_id(kernel->build_id);
  all.set_racerig_version(env.racerig_version);
  all.set_qemu_version(env.qemu_version);
  int reproduced = 0;
  const bool cold = request.cold || request.options.attach;
  run::SnapshotRunner snapshots(*ctx);
  for (int i = 1; i <= request.runs && !process::cancelled(); ++i) {
    auto progress = [&](const std::string& line) { observer.run_progress(i, line); };
    snapshots.expect_runs(request.runs - i);  // the next run's VM is restored while this one runs
    pb::RunReport r = cold ? run::run_once(*ctx, i, progress) : snapshots.run(i, progress);
    observer.run_done(kernel->variant, r);
    if (r.verdict() == pb::REPRODUCED) ++reproduced;
    if (r.verdict() == pb::INFRA_ERROR) ++out.infra_errors;
    *all.add_runs() = std::move(r);
  }
  all.set_reproduced(reproduced);
  all.set_total(all.runs_size());
  out.cancelled = process::cancelled();
  return out;
}

int reproduce_exit_code(const ReproduceOutcome& outcome) {
  if (outcome.cancelled || outcome.infra_errors > 0) return 3;
  const auto& r = outcome.report;
  return r.reproduced() == r.runs_size() && r.runs_size() > 0 ? 0 : 1;
}

pb::ReproduceReport reproduce_error_report(const JobEnv& env, const ReproduceRequest& request, const Error& error) {
  pb::ReproduceReport report;
  report.set_scenario(request.scenario);
  report.set_kernel_variant(request.kernel);
  report.set_racerig_version(env.racerig_version);
  report.set_qemu_version(env.qemu_version);
  report.set_error(error.message);
  return report;
}

Result<ReproduceRequest> ReproduceKind::from_wire(const Wire& wire, const std::filesystem::path& dir,
                                                  const run::RunOptions& options) {
  ReproduceRequest request;
  RACERIG_ASSIGN(request.scenario, scenario_arg(wire.scenario(), dir, 0));
  request.kernel = wire.kernel();
  request.runs = wire.runs();
  request.cold = wire.cold();
  request.options = options;
  return request;
}

Result<pb::SubmitReproduceRequest> ReproduceKind::to_wire(const Request& request, const std::string& request_id) {
  pb::SubmitReproduceRequest wire;
  wire.set_request_id(request_id);
  RACERIG_ASSIGN(*wire.mutable_scenario(), scenario_ref(request.scenario));
  wire.set_kernel(request.kernel);
  wire.set_runs(request.runs);
  wire.set_cold(request.cold);
  return wire;
}

JobEnd<pb::ReproduceReport> reproduce_end(ReproduceOutcome outcome) {
  JobEnd<pb::ReproduceReport> end;
  end.exit_code = reproduce_exit_code(outcome);
  end.cancelled = outcome.cancelled;
  end.report = std::move(outcome.report);
  return end;
}

JobEnd<pb::ReproduceReport> ReproduceKind::run(const JobEnv& env, const Request& request, JobObserver& observer,
                                               std::shared_ptr<process::CancelToken> cancel) {
  auto outcome = run_reproduce(env, request, observer, std::move(cancel));
  if (!outcome.ok()) return failed_end<ReproduceKind>(env, request, outcome.error());
  return reproduce_end(std::move(*outcome));
}

}  // namespace racerig::jobs
