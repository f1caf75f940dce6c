// racerig validate: judge candidate patches on the forced interleavings.
// Builds base+patches as a cached variant, runs every scenario on the base
// (the control) and on the patched kernel, and gives each scenario FIXED,
// NOT_FIXED, INCONCLUSIVE or ERROR.
#include <cstdio>
#include <fstream>
#include <map>

#include "host/cli_util.h"
#include "host/commands.h"
#include "host/version.h"
#include "rig/run/junit.h"
#include "rig/run/run.h"
#include "rig/run/validate.h"
#include "rig/run/verdict.h"
#include "rig/scenario/scenario.h"
#include "rig/dwarf/symbols.h"
#include "rig/qemu/cancel.h"

namespace racerig::host {

namespace {

constexpr int kExitInconclusive = 4;
constexpr int kExitPatchError = 5;

struct ValidateOptions {
  std::vector<std::string> patches, scenarios;
  std::string base = "buggy", json, junit;
  int runs = 3;
  bool kvm = false, cold = false;
  BackendArgs backend;
  std::string restore = "auto";  // auto, incoming, loadvm
};

pb::ReproduceReport run_many(const run::RunContext& ctx, int runs, const std::string& label, bool cold) {
  pb::ReproduceReport out;
  out.set_scenario(ctx.scenario.scenario.name());
  out.set_kernel_variant(ctx.kernel.variant);
  out.set_kernel_build_id(ctx.kernel.build_id);
  run::SnapshotRunner snapshots(ctx);
  for (int i = 1; i <= runs && !vm::cancelled(); ++i) {
    auto quiet = [](const std::string&) {};
    snapshots.expect_runs(runs - i);
    pb::RunReport r = cold ? run::run_once(ctx, i, quiet) : snapshots.run(i, quiet);
    std::printf("  %-30s %-24s run %d: %s\n", out.scenario().c_str(), label.c_str(), i, run::verdict_name(r.verdict()));
    std::fflush(stdout);
    if (r.verdict() == pb::REPRODUCED) out.set_reproduced(out.reproduced() + 1);
    *out.add_runs() = std::move(r);
  }
  out.set_total(out.runs_size());
  return out;
}

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) return errno_error("writing " + path);
  return Status::Ok();
}

int finish(const pb::ValidateReport& report, const ValidateOptions& args, int code) {
  if (!args.json.empty()) {
    if (Status s = write_json(report, args.json); !s.ok()) return report_error("json", s.error());
  }
  if (!args.junit.empty()) {
    if (Status s = write_text(args.junit, run::junit_xml(report)); !s.ok()) return report_error("junit", s.error());
  }
  return code;
}

int run_validate(const ValidateOptions& args) {
  if (args.json == "-")
    if (Status s = reserve_stdout_for_json(); !s.ok()) return report_error("json", s.error());
  const int runs = args.runs;
  vm::install_cancel_handlers();
  const std::string& base = args.base;
  run::RunOptions options;
  options.kvm = args.kvm;
  options.work_dir = work_dir();
  if (Status s = apply_backend_args(args.backend, options); !s.ok()) return report_error("validate", s.error());
  {
    auto restore = run::parse_restore(args.restore);
    if (!restore.ok()) return report_error("validate", restore.error());
    options.restore = *restore;
  }

  pb::ValidateReport report;
  report.set_base_variant(base);
  report.set_racerig_version(racerig_version());
  report.set_qemu_version(qemu_version(options.qemu));
  std::vector<std::filesystem::path> patches;
  for (const auto& p : args.patches) {
    report.add_patches(p);
    patches.emplace_back(p);
  }
  // A failure before the scenarios ran: the JSON and JUnit reports are
  // written all the same, with the error in them.
  auto fail = [&](const std::string& context, const Error& error) {
    report.set_error(context + ": " + error.message);
    int code = report_error(context, error);
    return finish(report, args, code);
  };

  // Scenarios first: input errors before anything builds.
  const std::filesystem::path dir = std::filesystem::path(repo_root()) / "scenarios";
  std::vector<std::string> names = args.scenarios;
  if (names.empty() || (names.size() == 1 && names[0] == "all")) names = scenario::list_scenarios(dir);
  std::vector<scenario::LoadedScenario> scenarios;
  for (const auto& n : names) {
    auto path = scenario::find_scenario(n, dir);
    if (!path.ok()) return fail("scenario", path.error());
    auto loaded = scenario::load_scenario(*path, options.cpus);
    if (!loaded.ok()) return fail("scenario", loaded.error());
    // FIXED needs an enforced schedule: an unforced scenario cannot prove a fix.
    if (loaded->scenario.schedule().empty())
      return fail("scenario", make_error(ErrorKind::kInput, path->string() + ": scenario \"" +
                                                                loaded->scenario.name() +
                                                                "\" has no schedule; validate needs a forced "
                                                                "schedule to prove a fix (use racerig stress "
                                                                "for unforced runs)"));
    scenarios.push_back(std::move(*loaded));
  }

  // The patches are read and checked before anything builds.
  if (Status s = check_patches(patches); !s.ok()) {
    report.set_error("patch: " + s.error().message);
    std::fprintf(stderr, "racerig: validate: %s\n", s.error().message.c_str());
    return finish(report, args, kExitUsage);
  }
  auto control = ensure_kernel(base);
  if (!control.ok()) return fail("kernel " + base, control.error());
  auto patched = ensure_patched_kernel(base, patches);
  if (!patched.ok()) {
    report.set_error(patched.error().message);
    std::fprintf(stderr, "racerig: validate: ERROR: %s\n", patched.error().message.c_str());
    int code = patched.error().kind == ErrorKind::kInput   ? kExitUsage
               : patched.error().kind == ErrorKind::kBuild ? kExitPatchError
                                                           : kExitInfra;
    return finish(report, args, code);
  }
  report.set_patched_variant(patched->variant);
  report.set_patched_build_id(patched->build_id);

  std::map<std::string, std::shared_ptr<const symbols::Symbols>> syms;
  for (const run::KernelFiles* k : {&*control, &*patched}) {
    auto s = symbols::Symbols::open(k->vmlinux.string());
    if (!s.ok()) return fail("symbols of " + k->variant, s.error());
    syms[k->variant] = std::shared_ptr<const symbols::Symbols>(std::move(*s));
  }

  std::printf("validating %s on %s (%d runs per kernel)\n", patched->variant.c_str(), base.c_str(), runs);
  for (const auto& sc : scenarios) {
    pb::ScenarioValidation* v = report.add_scenarios();
    v->set_scenario(sc.scenario.name());
    bool prepared = true;
    for (const run::KernelFiles* k : {&*control, &*patched}) {
      auto ctx = run::prepare_run(*k, syms[k->variant], sc, options);
      if (!ctx.ok()) {
        // A hold point that does not exist in the patched kernel: inconclusive, named.
        v->set_result(ctx.error().kind == ErrorKind::kInput ? pb::INCONCLUSIVE : pb::ERROR);
        v->set_reason(k->variant + ": " + ctx.error().message);
        prepared = false;
        break;
      }
      pb::ReproduceReport r = run_many(*ctx, runs, k == &*control ? k->variant + " (control)" : k->variant, args.cold);
      *(k == &*control ? v->mutable_control() : v->mutable_patched()) = std::move(r);
    }
    if (!prepared) continue;
    std::string why;
    v->set_result(run::classify(v->control(), v->patched(), &why));
    v->set_reason(why);
  }
  std::printf("\n%s", run::validation_table(report).c_str());
  if (vm::cancelled()) return finish(report, args, kExitInfra);

  int code = kExitOk;
  auto worse = [&](int c) {
    static const int rank[] = {0, 5, 0, 3, 1, 4};  // indexed by exit code: 1 (NOT_FIXED) worst, then 5, 3, 4
    if (rank[c] > rank[code]) code = c;
  };
  for (const auto& v : report.scenarios()) {
    switch (v.result()) {
      case pb::FIXED: break;
      case pb::NOT_FIXED: worse(kExitNegative); break;
      case pb::INCONCLUSIVE: worse(kExitInconclusive); break;
      default: worse(kExitInfra); break;
    }
  }
  return finish(report, args, code);
}

}  // namespace

Command add_validate_command(CLI::App& root) {
  auto o = std::make_shared<ValidateOptions>();
  CLI::App* app = root.add_subcommand("validate", "judge a candidate fix on the forced interleavings");
  app->add_option("--patch", o->patches, "a patch of the candidate fix (repeat for a series, applied in order)")
      ->type_name("FILE")
      ->allow_extra_args(false)
      ->required();
  app->add_option("--base", o->base, "the kernel variant the patches apply to")->type_name("VARIANT")->capture_default_str();
  app->add_option("--scenario", o->scenarios, "a scenario to judge (repeatable; default or \"all\": every one)")
      ->type_name("NAME|FILE")
      ->allow_extra_args(false);
  add_count_option(*app, "--runs", o->runs, "runs per scenario on each kernel");
  add_json_option(*app, o->json, "the report");
  app->add_option("--junit", o->junit, "write a JUnit XML report to FILE")->type_name("FILE");
  app->add_flag("--cold", o->cold, "boot QEMU for every run instead of restoring a ready-state snapshot per kernel");
  app->add_flag("--kvm", o->kvm, "use KVM instead of TCG");
  add_backend_options(*app, o->backend);
  app->add_option("--restore", o->restore,
                  "restore the ready state by incoming (cached snapshot, copy-on-write), loadvm, or auto")
      ->type_name("METHOD")
      ->capture_default_str();
  app->footer(
      "Runs start from a ready-state snapshot per kernel, kept in the cache across invocations.\n"
      "Every scenario runs on the base (the control) and on base+patches.\n"
      "exit: 0 every scenario FIXED, 1 NOT_FIXED, 2 input error, 3 infrastructure error,\n"
      "      4 INCONCLUSIVE, 5 ERROR (the patch does not apply or the kernel does not build)");
  return Command{app, [o] { return run_validate(*o); }};
}

}  // namespace racerig::host
