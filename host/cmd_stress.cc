// racerig stress: the baseline users have today. No forced schedule: an
// fsx-like actor and a FS_XFLAG_DAX flip loop run side by side for a while,
// and we see whether (and when) the kernel oopses. Same boot, oops analysis
// and report format as `reproduce`.
#include <cstdio>
#include <random>

#include "host/cli_util.h"
#include "host/commands.h"
#include "host/stress.h"
#include "rig/dwarf/symbols.h"
#include "rig/qemu/cancel.h"
#include "rig/run/run.h"
#include "rig/run/verdict.h"
#include "rig/scenario/scenario.h"

namespace racerig::host {

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

Result<std::unique_ptr<StressSession>> prepare_stress(const std::string& scenario_arg, const std::string& kernel_name,
                                                      const run::RunOptions& options, int duration_s, bool cold) {
  RACERIG_ASSIGN(auto path, scenario::find_scenario(scenario_arg, std::filesystem::path(repo_root()) / "scenarios" / "stress"));
  RACERIG_ASSIGN(auto loaded, scenario::load_scenario(path, options.cpus));
  if (loaded.scenario.schedule_size() != 0)
    return make_error(ErrorKind::kInput, path.string() + ": a stress scenario has no schedule (this one has " +
                                             std::to_string(loaded.scenario.schedule_size()) + " steps)");
  RACERIG_ASSIGN(auto kernel, ensure_kernel(kernel_name));
  progress_line("loading symbols from " + kernel.vmlinux.string());
  RACERIG_ASSIGN(auto syms, symbols::Symbols::open(kernel.vmlinux.string()));
  std::shared_ptr<const symbols::Symbols> shared(std::move(syms));
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

int cmd_stress(const Args& raw) {
  auto parsed = parse_args(raw, {"kernel", "duration", "runs", "seed", "json", "scenario", "restore"}, {"kvm", "verbose", "cold", "help"});
  if (!parsed.ok()) return report_error("stress", parsed.error());
  const ParsedArgs& args = *parsed;
  if (args.has("help") || !args.get("kernel") || !args.positional.empty()) {
    std::fprintf(args.has("help") ? stdout : stderr,
                 "usage: racerig stress --kernel VARIANT [--duration SECONDS] [--runs N] [--seed S] [--json FILE]\n"
                 "                      [--scenario NAME|FILE] [--cold] [--kvm] [--verbose]\n"
                 "                      [--restore auto|incoming|loadvm]\n"
                 "runs the seed's method unforced: fsx vs a FS_XFLAG_DAX flip loop (default 60 s per run);\n"
                 "run i uses fsx seed S+i-1 (S random unless given, always printed). Every run starts from\n"
                 "one snapshot taken after guest set-up; --cold boots a fresh VM for each run instead.\n");
    return args.has("help") ? kExitOk : kExitUsage;
  }
  auto runs_arg = args.positive_int("runs", 1), duration_arg = args.positive_int("duration", 60),
       seed_arg = args.positive_int("seed", static_cast<int>(std::random_device{}() % 100000 + 1));
  for (auto* r : {&runs_arg, &duration_arg, &seed_arg})
    if (!r->ok()) return report_error("stress", r->error());
  const int runs = *runs_arg, duration = *duration_arg;
  const uint64_t seed = static_cast<uint64_t>(*seed_arg);
  run::RunOptions options;
  options.kvm = args.has("kvm");
  options.work_dir = work_dir();
  if (auto r = args.get("restore")) {
    auto m = run::parse_restore(*r);
    if (!m.ok()) return report_error("stress", m.error());
    options.restore = *m;
  }
  vm::install_cancel_handlers();
  auto session = prepare_stress(args.get("scenario").value_or("stress-fsx-vs-dax-flip"), *args.get("kernel"), options,
                                duration, args.has("cold"));
  if (!session.ok()) return report_error("stress", session.error());

  pb::ReproduceReport all;
  all.set_scenario((*session)->context.scenario.scenario.name());
  all.set_kernel_variant((*session)->context.kernel.variant);
  all.set_kernel_build_id((*session)->context.kernel.build_id);
  int oopsed = 0, infra = 0;
  for (int i = 1; i <= runs && !vm::cancelled(); ++i) {
    const uint64_t run_seed = seed + static_cast<uint64_t>(i - 1);
    progress_line("run " + std::to_string(i) + ": fsx seed " + std::to_string(run_seed) + ", " +
                  std::to_string(duration) + " s");
    pb::RunReport r = run_stress_once(**session, i, run_seed, [&](const std::string& line) {
      if (args.has("verbose")) progress_line("run " + std::to_string(i) + ": " + line);
    });
    std::fputs(run::render_run(r, args.has("verbose")).c_str(), stdout);
    if (r.verdict() == pb::REPRODUCED)
      std::printf("  seed %llu: oops after %.1f s (%s)\n", static_cast<unsigned long long>(run_seed),
                  r.time_to_oops_ms() / 1000, r.from_snapshot() ? "from the restore" : "boot included");
    else if (r.verdict() == pb::NOT_REPRODUCED)
      std::printf("  seed %llu: no oops in %d s\n", static_cast<unsigned long long>(run_seed), duration);
    else  // another oops, a hang, an inconclusive or failed run: the line above says which
      std::printf("  seed %llu: not the scenario's oops (%s)\n", static_cast<unsigned long long>(run_seed),
                  run::verdict_name(r.verdict()));
    std::fflush(stdout);
    oopsed += r.verdict() == pb::REPRODUCED;
    infra += r.verdict() == pb::INFRA_ERROR;
    *all.add_runs() = std::move(r);
  }
  all.set_reproduced(oopsed);
  all.set_total(all.runs_size());
  std::printf("stress on %s: %d/%d runs hit the scenario's oops (at most %d s each)\n", all.kernel_variant().c_str(), oopsed, all.runs_size(),
              duration);
  return finish_runs(all, args.get("json"), infra);
}

}  // namespace racerig::host
