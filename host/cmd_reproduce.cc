// racerig reproduce: force a scenario's interleaving on a kernel, N times.
#include <cstdio>

#include "host/cli_util.h"
#include "host/commands.h"
#include "host/version.h"
#include "rig/run/run.h"
#include "rig/scenario/scenario.h"
#include "rig/dwarf/symbols.h"
#include "rig/qemu/cancel.h"

namespace racerig::host {

namespace {

struct ReproduceOptions {
  std::string scenario, kernel, json;
  int runs = 1;
  int cpus = run::RunOptions{}.cpus;
  bool cold = false, attach = false, kvm = false, verbose = false;
  BackendArgs backend;
  std::string restore = "auto";  // auto, incoming, loadvm
};

int run_reproduce(const ReproduceOptions& args) {
  if (args.json == "-")
    if (Status s = reserve_stdout_for_json(); !s.ok()) return report_error("json", s.error());
  run::RunOptions options;
  const int runs = args.runs;
  options.cpus = args.cpus;
  options.kvm = args.kvm;
  options.attach = args.attach;
  options.work_dir = work_dir();
  if (Status s = apply_backend_args(args.backend, options); !s.ok()) return report_error("reproduce", s.error());
  {
    auto restore = run::parse_restore(args.restore);
    if (!restore.ok()) return report_error("reproduce", restore.error());
    options.restore = *restore;
  }
  vm::install_cancel_handlers();

  pb::ReproduceReport all;
  all.set_scenario(args.scenario);
  all.set_kernel_variant(args.kernel);
  all.set_racerig_version(racerig_version());
  all.set_qemu_version(qemu_version(options.qemu));
  // A failure before the runs: the report is written all the same, with the error.
  auto fail = [&](const std::string& context, const Error& error) {
    all.set_error(context + ": " + error.message);
    if (!args.json.empty())
      if (Status s = write_json(all, args.json); !s.ok()) report_error("json", s.error());
    return report_error(context, error);
  };

  // Input first: the scenario must parse and validate before anything builds or boots.
  auto path = scenario::find_scenario(args.scenario, std::filesystem::path(repo_root()) / "scenarios");
  if (!path.ok()) return fail("scenario", path.error());
  auto loaded = scenario::load_scenario(*path, options.cpus);
  if (!loaded.ok()) return fail("scenario", loaded.error());

  auto kernel = ensure_kernel(args.kernel);
  if (!kernel.ok()) return fail("kernel " + args.kernel, kernel.error());
  progress_line("loading symbols from " + kernel->vmlinux.string());
  auto syms = symbols::Symbols::open(kernel->vmlinux.string());
  if (!syms.ok()) return fail("symbols", syms.error());
  std::shared_ptr<const symbols::Symbols> shared(std::move(*syms));
  auto ctx = run::prepare_run(*kernel, shared, std::move(*loaded), options);
  if (!ctx.ok()) return fail("scenario", ctx.error());

  all.set_scenario(ctx->scenario.scenario.name());
  all.set_kernel_variant(kernel->variant);
  all.set_kernel_build_id(kernel->build_id);
  int reproduced = 0, infra = 0;
  const bool cold = args.cold || args.attach;
  run::SnapshotRunner snapshots(*ctx);
  for (int i = 1; i <= runs && !vm::cancelled(); ++i) {
    auto progress = [&](const std::string& line) {
      // The attach line is for a human who waits for it: always shown.
      if (args.verbose || line.rfind("attach:", 0) == 0) progress_line("run " + std::to_string(i) + ": " + line);
    };
    snapshots.expect_runs(runs - i);
    pb::RunReport r = cold ? run::run_once(*ctx, i, progress) : snapshots.run(i, progress);
    std::fputs(run::render_run(r, args.verbose).c_str(), stdout);
    std::fflush(stdout);
    if (r.verdict() == pb::REPRODUCED) ++reproduced;
    if (r.verdict() == pb::INFRA_ERROR) ++infra;
    *all.add_runs() = std::move(r);
  }
  all.set_reproduced(reproduced);
  all.set_total(all.runs_size());
  std::printf("%s on %s: %d/%d reproduced\n", all.scenario().c_str(), kernel->variant.c_str(), reproduced,
              all.runs_size());
  return finish_runs(all, args.json, infra);
}

}  // namespace

Command add_reproduce_command(CLI::App& root) {
  auto o = std::make_shared<ReproduceOptions>();
  CLI::App* app = root.add_subcommand("reproduce", "force a scenario's interleaving on a kernel and report verdicts");
  app->add_option("--scenario", o->scenario, "the scenario: a name under scenarios/ or a .textproto file")
      ->type_name("NAME|FILE")
      ->required();
  app->add_option("--kernel", o->kernel, "the kernel variant (racerig kernel list)")->type_name("VARIANT")->required();
  add_count_option(*app, "--runs", o->runs, "how many runs");
  add_count_option(*app, "--cpus", o->cpus, "vCPUs of the guest");
  add_json_option(*app, o->json, "the report");
  app->add_flag("--cold", o->cold, "boot QEMU for every run instead of restoring the ready-state snapshot");
  app->add_flag("--attach", o->attach, "wait at each hold point for a gdb to attach (implies --cold)");
  app->add_flag("--kvm", o->kvm, "use KVM instead of TCG");
  app->add_flag("--verbose", o->verbose, "show each run's progress and full report");
  add_backend_options(*app, o->backend);
  app->add_option("--restore", o->restore,
                  "restore the ready state by incoming (cached snapshot, copy-on-write), loadvm, or auto")
      ->type_name("METHOD")
      ->capture_default_str();
  app->footer(
      "Runs start from a snapshot of the ready guest, made once and kept in the cache (--restore\n"
      "loadvm: taken once per invocation); --cold boots QEMU for every run.\n"
      "Exit: 0 every run reproduced, 1 otherwise, 2 input error, 3 infrastructure error.");
  return Command{app, [o] { return run_reproduce(*o); }};
}

}  // namespace racerig::host
