// racerig reproduce: force a scenario's interleaving on a kernel, N times.
#include <cstdio>

#include "host/cli_util.h"
#include "host/commands.h"
#include "rig/run/run.h"
#include "rig/scenario/scenario.h"
#include "rig/dwarf/symbols.h"
#include "rig/qemu/cancel.h"

namespace racerig::host {

int cmd_reproduce(const Args& raw) {
  auto parsed = parse_args(raw, {"scenario", "kernel", "runs", "json", "cpus", "restore"}, {"attach", "kvm", "verbose", "help", "cold"});
  if (!parsed.ok()) return report_error("reproduce", parsed.error());
  const ParsedArgs& args = *parsed;
  if (args.has("help") || !args.get("scenario") || !args.get("kernel") || !args.positional.empty()) {
    std::fprintf(args.has("help") ? stdout : stderr,
                 "usage: racerig reproduce --scenario NAME|FILE --kernel VARIANT [--runs N] [--json FILE]\n"
                 "                         [--cold] [--attach] [--kvm] [--verbose] [--restore auto|incoming|loadvm]\n"
                 "runs start from a snapshot of the ready guest (made once and cached; --restore loadvm:\n"
                 "saved once per invocation and restored with loadvm);\n"
                 "--cold boots QEMU for every run (--attach implies it).\n");
    return args.has("help") ? kExitOk : kExitUsage;
  }
  run::RunOptions options;
  auto runs_arg = args.positive_int("runs", 1);
  auto cpus_arg = args.positive_int("cpus", options.cpus);
  for (auto* r : {&runs_arg, &cpus_arg})
    if (!r->ok()) return report_error("reproduce", r->error());
  const int runs = *runs_arg;
  options.cpus = *cpus_arg;
  options.kvm = args.has("kvm");
  options.attach = args.has("attach");
  options.work_dir = work_dir();
  if (auto r = args.get("restore")) {
    auto m = run::parse_restore(*r);
    if (!m.ok()) return report_error("reproduce", m.error());
    options.restore = *m;
  }
  vm::install_cancel_handlers();

  // Input first: the scenario must parse and validate before anything builds or boots.
  auto path = scenario::find_scenario(*args.get("scenario"), std::filesystem::path(repo_root()) / "scenarios");
  if (!path.ok()) return report_error("scenario", path.error());
  auto loaded = scenario::load_scenario(*path, options.cpus);
  if (!loaded.ok()) return report_error("scenario", loaded.error());

  auto kernel = ensure_kernel(*args.get("kernel"));
  if (!kernel.ok()) return report_error("kernel " + *args.get("kernel"), kernel.error());
  progress_line("loading symbols from " + kernel->vmlinux.string());
  auto syms = symbols::Symbols::open(kernel->vmlinux.string());
  if (!syms.ok()) return report_error("symbols", syms.error());
  std::shared_ptr<const symbols::Symbols> shared(std::move(*syms));
  auto ctx = run::prepare_run(*kernel, shared, std::move(*loaded), options);
  if (!ctx.ok()) return report_error("scenario", ctx.error());

  pb::ReproduceReport all;
  all.set_scenario(ctx->scenario.scenario.name());
  all.set_kernel_variant(kernel->variant);
  all.set_kernel_build_id(kernel->build_id);
  int reproduced = 0, infra = 0;
  const bool cold = args.has("cold") || args.has("attach");
  run::SnapshotRunner snapshots(*ctx);
  for (int i = 1; i <= runs && !vm::cancelled(); ++i) {
    auto progress = [&](const std::string& line) {
      // The attach line is for a human who waits for it: always shown.
      if (args.has("verbose") || line.rfind("attach:", 0) == 0) progress_line("run " + std::to_string(i) + ": " + line);
    };
    snapshots.expect_runs(runs - i);
    pb::RunReport r = cold ? run::run_once(*ctx, i, progress) : snapshots.run(i, progress);
    std::fputs(run::render_run(r, args.has("verbose")).c_str(), stdout);
    std::fflush(stdout);
    if (r.verdict() == pb::REPRODUCED) ++reproduced;
    if (r.verdict() == pb::INFRA_ERROR) ++infra;
    *all.add_runs() = std::move(r);
  }
  all.set_reproduced(reproduced);
  all.set_total(all.runs_size());
  std::printf("%s on %s: %d/%d reproduced\n", all.scenario().c_str(), kernel->variant.c_str(), reproduced,
              all.runs_size());
  return finish_runs(all, args.get("json"), infra);
}

}  // namespace racerig::host
