// racerig validate: judge candidate patches on the forced interleavings.
// The job itself is rig/jobs/validate_job; this is its command line, run
// locally or (--server) on racerigd with the same output and exit codes: it
// prints each run's verdict and the table, and writes --json/--junit.
#include <cstdio>
#include <optional>
#include <fstream>

#include "host/cli_util.h"
#include "host/client/submit.h"
#include "host/commands.h"
#include "host/server_options.h"
#include "host/terminal_progress.h"
#include "rig/jobs/validate_job.h"
#include "rig/process/cancel.h"
#include "rig/run/junit.h"
#include "rig/run/validate.h"
#include "rig/run/verdict.h"

namespace racerig::host {

namespace {

struct ValidateOptions {
  std::vector<std::string> patches, scenarios;
  std::string base = "buggy", json, junit, request_id;
  int runs = 3;
  bool kvm = false, cold = false;
  ServerArgs server;
  BackendArgs backend;
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
                run::verdict_name(r.verdict()));
    std::fflush(stdout);
  }
};

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

// --server: the same job on racerigd; its events print as a local job's do.
// A job that failed on the server leaves its report (with the error and the
// server's versions) in `*failed_report`.
Result<jobs::ValidateOutcome> validate_remotely(const ValidateOptions& args, ValidatePrinter& printer,
                                          std::optional<pb::ValidateReport>* failed_report) {
  if (args.kvm) return make_error(ErrorKind::kInput, "--kvm is for local runs, not --server");
  RACERIG_TRY(check_no_vm_args_for_server(args.backend, args.restore));
  pb::SubmitValidateRequest req;
  req.set_request_id(args.request_id.empty() ? client::new_request_id() : args.request_id);
  RACERIG_TRY(client::add_patch_files(args.patches, req));
  req.set_base(args.base);
  for (const auto& s : args.scenarios) {
    if (s == "all") continue;
    RACERIG_ASSIGN(pb::ScenarioRef ref, client::scenario_ref(s));
    *req.add_scenarios() = std::move(ref);
  }
  req.set_runs(args.runs);
  req.set_cold(args.cold);
  RACERIG_ASSIGN(pb::Job job, client::submit_and_follow(args.server.options(), req, printer, progress_line));
  // The job could not run: the server's message, with the local exit code.
  if (job.state() == pb::FAILED && job.has_validate_report()) *failed_report = job.validate_report();
  if (job.state() == pb::FAILED || !job.has_validate_report())
    return make_error(job.exit_code() == kExitUsage ? ErrorKind::kInput : ErrorKind::kIo, job.error());
  jobs::ValidateOutcome out;
  out.report = job.validate_report();
  out.exit_code = job.exit_code();
  out.cancelled = job.state() == pb::CANCELLED;
  return out;
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
  request.options.kvm = args.kvm;
  request.options.work_dir = work_dir();
  request.options.logs_dir = run_logs_dir();
  for (const auto& p : args.patches) request.patches.emplace_back(p);

  ValidatePrinter printer;
  std::optional<pb::ValidateReport> failed_report;
  auto outcome = [&]() -> Result<jobs::ValidateOutcome> {
    RACERIG_TRY(apply_vm_args(args.backend, args.restore, request.options));
    if (args.server.server.empty()) return jobs::run_validate(job_env(), request, printer);
    return validate_remotely(args, printer, &failed_report);
  }();
  if (!outcome.ok()) {
    // A failure before the scenarios ran: the JSON and JUnit reports are
    // written all the same, with the error in them.
    std::fprintf(stderr, "racerig: %s\n", outcome.error().message.c_str());
    const pb::ValidateReport report =
        failed_report ? *failed_report : jobs::validate_error_report(job_env(), request, outcome.error());
    return finish(report, args, exit_code_for(outcome.error()));
  }
  const pb::ValidateReport& report = outcome->report;
  if (!report.error().empty()) {
    std::fprintf(stderr, "racerig: validate: ERROR: %s\n", report.error().c_str());
    return finish(report, args, outcome->exit_code);
  }
  std::printf("\n%s", run::validation_table(report).c_str());
  return finish(report, args, outcome->exit_code);
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
