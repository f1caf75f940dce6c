// racerig validate: judge candidate patches on the forced interleavings.
// The job itself is rig/jobs/validate_job; this is its command line (options
// and printing), run locally or (--server) on racerigd through
// host/job_path.h with the same output and exit codes: it prints each run's
// verdict and the table, and writes --json/--junit.
#include <cstdio>

#include "host/cli_util.h"
#include "rig/base/file.h"
#include "host/commands.h"
#include "host/job_path.h"
#include "host/report_html.h"
#include "host/server_options.h"
#include "host/terminal_progress.h"
#include "rig/jobs/validate_job.h"
#include "rig/process/cancel.h"
#include "rig/verdict/junit.h"
#include "rig/verdict/validate.h"
#include "rig/verdict/verdict.h"

namespace racerig::host {

namespace {

struct ValidateOptions {
  std::vector<std::string> patches, scenarios;
  std::string base = "buggy", json, junit, request_id;
  int runs = 3;
  int depth = 1;
  bool kvm = false, cold = false, no_explore = false;
  ServerArgs server;
  BackendArgs backend;
  HtmlArgs html;
  std::string restore = "auto";  // auto, incoming, loadvm
};

// Prints a validate job as it goes: one line per run on stdout.
class ValidatePrinter : public TerminalProgress {
 public:
  void note(const std::string& line) override {
    clear();
    std::printf("%s\n", line.c_str());
  }
  void run_done(const std::string& label, const pb::RunReport& r) override {
    std::printf("  %-30s %-24s run %d: %s\n", r.scenario().c_str(), label.c_str(), r.run(),
                verdict::verdict_name(r.verdict()));
    std::fflush(stdout);
  }
};

int finish(const pb::ValidateReport& report, const ValidateOptions& args, int code) {
  if (Status s = write_validate_html(args.html, report); !s.ok()) return report_error("html", s.error());
  if (!args.json.empty()) {
    if (Status s = write_json(report, args.json); !s.ok()) return report_error("json", s.error());
  }
  if (!args.junit.empty()) {
    if (Status s = write_file(args.junit, verdict::junit_xml(report)); !s.ok()) return report_error("junit", s.error());
  }
  return code;
}

int run_validate(const ValidateOptions& args) {
  if (args.json == "-")
    if (Status s = reserve_stdout_for_json(); !s.ok()) return report_error("json", s.error());
  process::install_cancel_handlers();
  jobs::ValidateRequest request;
  request.runs = args.runs;
  request.base = args.base;
  request.scenarios = args.scenarios;
  request.cold = args.cold;
  request.explore = !args.no_explore;
  request.explore_depth = args.depth;
  request.options.kvm = args.kvm;
  request.options.work_dir = work_dir();
  request.options.logs_dir = run_logs_dir();
  for (const auto& p : args.patches) request.patches.emplace_back(p);

  ValidatePrinter printer;
  auto ready = [&]() -> Status {
    if (args.no_explore && args.depth > 1)
      return make_error(ErrorKind::kInput, "--depth " + std::to_string(args.depth) +
                                               " explores, and --no-explore turns exploring off: give one of them");
    RACERIG_TRY(apply_vm_args(args.backend, args.restore, request.options));
    if (args.server.server.empty()) return Status::Ok();
    if (args.kvm) return make_error(ErrorKind::kInput, "--kvm is for local runs, not --server");
    return check_no_vm_args_for_server(args.backend, args.restore);
  }();
  const auto end = ready.ok() ? run_job<jobs::ValidateKind>(request, args.server, args.request_id, printer)
                              : jobs::failed_end<jobs::ValidateKind>(job_env(), request, ready.error());
  const pb::ValidateReport& report = end.report;
  if (end.failed) {
    // A failure before the scenarios ran: the JSON and JUnit reports are
    // written all the same, with the error in them.
    std::fprintf(stderr, "racerig: %s\n", end.error.c_str());
    return finish(report, args, end.exit_code);
  }
  if (!report.error().empty()) {
    std::fprintf(stderr, "racerig: validate: ERROR: %s\n", report.error().c_str());
    return finish(report, args, end.exit_code);
  }
  std::printf("\n%s", verdict::validation_table(report).c_str());
  return finish(report, args, end.exit_code);
}

}  // namespace

Command add_validate_command(CLI::App& root) {
  auto o = std::make_shared<ValidateOptions>();
  CLI::App* app = root.add_subcommand("validate", "judge a candidate fix on the forced interleavings");
  app->add_option("--patch", o->patches, "a patch of the candidate fix (repeat for a series, applied in order)")
      ->type_name("FILE")
      ->allow_extra_args(false)
      ->required();
  app->add_option("--base", o->base, "the kernel variant the patches apply to")
      ->type_name("VARIANT")
      ->capture_default_str();
  app->add_option("--scenario", o->scenarios, "a scenario to judge (repeatable; default: the scenarios the base variant lists in "
                 "kernels/variants.textproto; \"all\": every one)")
      ->type_name("NAME|FILE")
      ->allow_extra_args(false);
  add_count_option(*app, "--runs", o->runs, "runs per scenario on each kernel");
  add_json_option(*app, o->json, "the report");
  app->add_option("--junit", o->junit, "write a JUnit XML report to FILE")->type_name("FILE");
  add_html_options(*app, o->html);
  app->add_flag("--cold", o->cold, "boot QEMU for every run instead of restoring a ready-state snapshot per kernel");
  app->add_flag("--no-explore", o->no_explore,
                "judge on the scenario's own schedule only, even when it declares an explore {} window");
  app->add_option("--depth", o->depth,
                  "the patched kernel's exploration depth: 2 adds pairs of points, until the first failure (the "
                  "control is explored at depth 1)")
      ->type_name("N")
      ->check(CLI::Range(1, 2))
      ->capture_default_str();
  app->add_flag("--kvm", o->kvm, "use KVM instead of TCG");
  add_server_options(*app, o->server, "run the job on racerigd and print its progress as it happens");
  app->add_option("--request-id", o->request_id, "with --server: an id that makes a repeated submit the same job")
      ->type_name("ID");
  add_backend_options(*app, o->backend);
  add_restore_option(*app, o->restore);
  app->footer(
      "Runs start from a ready-state snapshot per kernel, kept in the cache across invocations.\n"
      "With --server, racerigd's own --backend/--libvirt-uri/--restore choose how its runs boot.\n"
      "Every scenario runs on the base (the control) and on base+patches.\n"
      "exit: 0 every scenario FIXED, 1 NOT_FIXED, 2 input error, 3 infrastructure error,\n"
      "      4 INCONCLUSIVE, 5 ERROR (the patch does not apply or the kernel does not build)");
  return Command{app, [o] { return run_validate(*o); }};
}

}  // namespace racerig::host
