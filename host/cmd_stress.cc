// racerig stress: the baseline users have today. No forced schedule: an
// fsx-like actor and a FS_XFLAG_DAX flip loop run side by side for a while,
// and we see whether (and when) the kernel oopses. Same boot, oops analysis
// and report format as `reproduce`.
#include <cstdio>
#include <random>

#include "host/cli_util.h"
#include "host/commands.h"
#include "host/stress.h"
#include "host/version.h"
#include "rig/dwarf/symbols.h"
#include "rig/process/cancel.h"
#include "rig/run/run.h"
#include "rig/run/snapshot_runner.h"
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

namespace {

struct StressOptions {
  std::string kernel, json, scenario = "stress-fsx-vs-dax-flip";
  int runs = 1, duration = 60, seed = 0;  // seed 0: random
  bool kvm = false, verbose = false, cold = false;
  BackendArgs backend;
  std::string restore = "auto";  // auto, incoming, loadvm
};

int run_stress(const StressOptions& args) {
  if (args.json == "-")
    if (Status s = reserve_stdout_for_json(); !s.ok()) return report_error("json", s.error());
  const int runs = args.runs, duration = args.duration;
  const uint64_t seed =
      static_cast<uint64_t>(args.seed != 0 ? args.seed : static_cast<int>(std::random_device{}() % 100000 + 1));
  run::RunOptions options;
  options.kvm = args.kvm;
  options.work_dir = work_dir();
  options.logs_dir = run_logs_dir();
  if (Status s = apply_vm_args(args.backend, args.restore, options); !s.ok()) return report_error("stress", s.error());
  process::install_cancel_handlers();
  pb::ReproduceReport all;
  all.set_racerig_version(racerig_version());
  all.set_qemu_version(qemu_version(options.qemu));
  auto session = prepare_stress(args.scenario, args.kernel, options, duration, args.cold);
  if (!session.ok()) {
    // The report is written all the same, with the error in it.
    all.set_scenario(args.scenario);
    all.set_kernel_variant(args.kernel);
    all.set_error("stress: " + session.error().message);
    if (!args.json.empty())
      if (Status s = write_json(all, args.json); !s.ok()) report_error("json", s.error());
    return report_error("stress", session.error());
  }

  all.set_scenario((*session)->context.scenario.scenario.name());
  all.set_kernel_variant((*session)->context.kernel.variant);
  all.set_kernel_build_id((*session)->context.kernel.build_id);
  int oopsed = 0, infra = 0;
  for (int i = 1; i <= runs && !process::cancelled(); ++i) {
    const uint64_t run_seed = seed + static_cast<uint64_t>(i - 1);
    progress_line("run " + std::to_string(i) + ": fsx seed " + std::to_string(run_seed) + ", " +
                  std::to_string(duration) + " s");
    pb::RunReport r = run_stress_once(**session, i, run_seed, [&](const std::string& line) {
      if (args.verbose) progress_line("run " + std::to_string(i) + ": " + line);
    });
    std::fputs(run::render_run(r, args.verbose).c_str(), stdout);
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
  return finish_runs(all, args.json, infra);
}

}  // namespace

Command add_stress_command(CLI::App& root) {
  auto o = std::make_shared<StressOptions>();
  CLI::App* app = root.add_subcommand("stress", "the unforced baseline: fsx against a FS_XFLAG_DAX flip loop");
  app->add_option("--kernel", o->kernel, "the kernel variant")->type_name("VARIANT")->required();
  add_count_option(*app, "--duration", o->duration, "seconds per run");
  add_count_option(*app, "--runs", o->runs, "how many runs");
  app->add_option("--seed", o->seed, "fsx seed of run 1 (run i uses S+i-1; random unless given, always printed)")
      ->type_name("S")
      ->check(positive_int());
  add_json_option(*app, o->json, "the report");
  app->add_option("--scenario", o->scenario, "a stress scenario (no schedule): a name under scenarios/stress/ or a file")
      ->type_name("NAME|FILE")
      ->capture_default_str();
  app->add_flag("--cold", o->cold, "boot a fresh VM for each run instead of restoring one snapshot");
  app->add_flag("--kvm", o->kvm, "use KVM instead of TCG");
  add_backend_options(*app, o->backend);
  app->add_flag("--verbose", o->verbose, "show each run's progress and full report");
  add_restore_option(*app, o->restore);
  app->footer(
      "Runs the seed's method unforced. Every run starts from one snapshot taken after guest set-up.\n"
      "Exit: 0 every run hit the scenario's oops, 1 otherwise, 2 input error, 3 infrastructure error.");
  return Command{app, [o] { return run_stress(*o); }};
}

}  // namespace racerig::host
