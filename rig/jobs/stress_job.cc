// The stress job (see stress_job.h).
#include "rig/jobs/stress_job.h"

#include <random>

#include "rig/dwarf/symbols.h"
#include "rig/jobs/kernels.h"
#include "rig/jobs/wire.h"
#include "rig/process/cancel.h"
#include "rig/scenario/scenario.h"

namespace racerig::jobs {

void set_stress_parameters(pb::Scenario& sc, uint64_t seed, uint64_t duration_ms, bool seed_from_go) {
  for (auto& actor : *sc.mutable_workload()->mutable_actors()) {
    for (auto& op : *actor.mutable_ops()) {
      if (op.has_fsx()) {
        op.mutable_fsx()->set_seed(seed_from_go ? 0 : seed);
        op.mutable_fsx()->set_seed_from_go(seed_from_go);
        op.mutable_fsx()->set_duration_ms(duration_ms);
        op.mutable_fsx()->set_ops(0);
      }
      if (op.has_flip_loop()) {
        op.mutable_flip_loop()->set_duration_ms(duration_ms);
        op.mutable_flip_loop()->set_iterations(0);
      }
    }
  }
  // Room for the run itself plus the guest's own set-up and shutdown.
  sc.mutable_deadlines()->set_finish_s(static_cast<uint32_t>(duration_ms / 1000 + 120));
}

Result<std::unique_ptr<StressSession>> prepare_stress(const JobEnv& env, const std::string& scenario,
                                                      const std::string& kernel_name, const run::RunOptions& options,
                                                      int duration_s, bool cold, JobObserver& observer) {
  RACERIG_ASSIGN(auto path, find_job_scenario(env, scenario, env.scenarios_dir() / "stress"));
  RACERIG_ASSIGN(auto loaded, scenario::load_scenario(path, options.cpus));
  if (loaded.scenario.schedule_size() != 0)
    return make_error(ErrorKind::kInput, path.string() + ": a stress scenario has no schedule (this one has " +
                                             std::to_string(loaded.scenario.schedule_size()) + " steps)");
  RACERIG_ASSIGN(auto kernel, ensure_kernel(env, kernel_name, observer));
  observer.note("loading symbols from " + kernel.vmlinux.string());
  RACERIG_ASSIGN(auto syms, dwarf::Symbols::open(kernel.vmlinux.string()));
  std::shared_ptr<const dwarf::Symbols> shared(std::move(syms));
  RACERIG_ASSIGN(auto ctx, run::prepare_run(kernel, shared, std::move(loaded), options));
  auto session = std::make_unique<StressSession>();
  session->context = std::move(ctx);
  session->cold = cold;
  session->duration_s = duration_s;
  // The seed is set per run (cold) or sent with "go" (snapshot).
  set_stress_parameters(session->context.scenario.scenario, 0, static_cast<uint64_t>(duration_s) * 1000, !cold);
  return session;
}

pb::RunReport run_stress_once(StressSession& session, int index, uint64_t seed, const run::Progress& progress) {
  pb::RunReport r;
  if (session.cold) {
    run::RunContext ctx = session.context;
    set_stress_parameters(ctx.scenario.scenario, seed, static_cast<uint64_t>(session.duration_s) * 1000, false);
    r = run::run_once(ctx, index, progress);
  } else {
    if (!session.snapshot) session.snapshot = std::make_unique<run::SnapshotRunner>(session.context);
    r = session.snapshot->run(index, progress, std::to_string(seed));
  }
  r.set_seed(seed);
  return r;
}

Result<StressOutcome> run_stress(const JobEnv& env, const StressRequest& request, JobObserver& observer,
                                 std::shared_ptr<process::CancelToken> cancel) {
  process::ScopedCancel scope(std::move(cancel));
  const uint64_t seed =
      request.seed != 0 ? request.seed : static_cast<uint64_t>(static_cast<int>(std::random_device{}() % 100000 + 1));
  RACERIG_ASSIGN(auto session, prepare_stress(env, request.scenario, request.kernel, request.options,
                                              request.duration_s, request.cold, observer));
  StressOutcome out;
  pb::ReproduceReport& all = out.report;
  all.set_racerig_version(env.racerig_version);
  all.set_qemu_version(env.qemu_version);
  all.set_scenario(session->context.scenario.scenario.name());
  all.set_kernel_variant(session->context.kernel.variant);
  all.set_kernel_build_id(session->context.kernel.build_id);
  int oopsed = 0;
  for (int i = 1; i <= request.runs && !process::cancelled(); ++i) {
    const uint64_t run_seed = seed + static_cast<uint64_t>(i - 1);
    observer.note("run " + std::to_string(i) + ": fsx seed " + std::to_string(run_seed) + ", " +
                  std::to_string(request.duration_s) + " s");
    pb::RunReport r =
        run_stress_once(*session, i, run_seed, [&](const std::string& line) { observer.run_progress(i, line); });
    observer.run_done(session->context.kernel.variant, r);
    oopsed += r.verdict() == pb::REPRODUCED;
    out.infra_errors += r.verdict() == pb::INFRA_ERROR;
    *all.add_runs() = std::move(r);
  }
  all.set_reproduced(oopsed);
  all.set_total(all.runs_size());
  out.cancelled = process::cancelled();
  return out;
}

pb::ReproduceReport stress_error_report(const JobEnv& env, const StressRequest& request, const Error& error) {
  ReproduceRequest as_reproduce;
  as_reproduce.scenario = request.scenario;
  as_reproduce.kernel = request.kernel;
  Error prefixed = error;
  prefixed.message = "stress: " + error.message;
  return reproduce_error_report(env, as_reproduce, prefixed);
}

Result<StressRequest> StressKind::from_wire(const Wire& wire, const std::filesystem::path& dir,
                                            const run::RunOptions& options) {
  StressRequest request;
  RACERIG_ASSIGN(request.scenario, scenario_arg(wire.scenario(), dir, 0));
  request.kernel = wire.kernel();
  request.runs = wire.runs();
  request.duration_s = wire.duration_s();
  request.seed = wire.seed();
  request.cold = wire.cold();
  request.options = options;
  return request;
}

Result<pb::SubmitStressRequest> StressKind::to_wire(const Request& request, const std::string& request_id) {
  pb::SubmitStressRequest wire;
  wire.set_request_id(request_id);
  RACERIG_ASSIGN(*wire.mutable_scenario(), scenario_ref(request.scenario));
  wire.set_kernel(request.kernel);
  wire.set_runs(request.runs);
  wire.set_duration_s(request.duration_s);
  wire.set_seed(request.seed);
  wire.set_cold(request.cold);
  return wire;
}

JobEnd<pb::ReproduceReport> StressKind::run(const JobEnv& env, const Request& request, JobObserver& observer,
                                            std::shared_ptr<process::CancelToken> cancel) {
  auto outcome = run_stress(env, request, observer, std::move(cancel));
  if (!outcome.ok()) return failed_end<StressKind>(env, request, outcome.error());
  return reproduce_end(std::move(*outcome));
}

}  // namespace racerig::jobs
