// racerig validate: judge candidate patches on the forced interleavings.
// The job itself is rig/jobs/validate_job; this is its command line: it
// prints each run's verdict and the table, and writes --json/--junit.
#include <cstdio>
#include <fstream>

#include "host/cli_util.h"
#include "host/client/submit.h"
#include "host/commands.h"
#include "host/terminal_progress.h"
#include "rig/jobs/validate_job.h"
#include "rig/qemu/cancel.h"
#include "rig/run/validate.h"
#include "rig/run/verdict.h"

namespace racerig::host {

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: racerig validate --patch FILE [--patch FILE ...] [--base VARIANT]\n"
               "                        [--scenario NAME|FILE ... | --scenario all] [--runs N]\n"
               "                        [--json FILE] [--junit FILE] [--cold] [--kvm]\n"
               "                        [--server unix:PATH|HOST:PORT [--token-file FILE] [--tls-ca FILE]\n"
               "                         [--request-id ID]]\n"
               "runs start from a ready-state snapshot per kernel; --cold boots QEMU for every run\n"
               "--server submits the job to racerigd and prints its progress as it happens\n"
               "exit: 0 every scenario FIXED, 1 NOT_FIXED, 2 input error, 3 infrastructure error,\n"
               "      4 INCONCLUSIVE, 5 ERROR (the patch does not apply or the kernel does not build)\n");
}

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

int finish(const pb::ValidateReport& report, const ParsedArgs& args, int code) {
  if (auto json = args.get("json")) {
    if (Status s = write_json(report, *json); !s.ok()) return report_error("json", s.error());
  }
  if (auto junit = args.get("junit")) {
    if (Status s = write_text(*junit, run::junit_xml(report)); !s.ok()) return report_error("junit", s.error());
  }
  return code;
}

// --server: the same job on racerigd; its events print as a local job's do.
Result<pb::Job> validate_remotely(const ParsedArgs& args, const jobs::ValidateRequest& local, ValidatePrinter& printer) {
  pb::SubmitValidateRequest req;
  req.set_request_id(args.get("request-id").value_or(client::new_request_id()));
  RACERIG_TRY(client::add_patch_files(args.all("patch"), req));
  req.set_base(local.base);
  for (const auto& s : local.scenarios) {
    if (s == "all") continue;
    RACERIG_ASSIGN(pb::ScenarioRef ref, client::scenario_ref(s));
    *req.add_scenarios() = std::move(ref);
  }
  req.set_runs(local.runs);
  req.set_cold(local.cold);
  client::ServerOptions server{*args.get("server"), args.get("token-file"), args.get("tls-ca")};
  return client::submit_and_follow(server, req, printer, progress_line);
}

}  // namespace

int cmd_validate(const Args& raw) {
  auto parsed = parse_args(raw, {"patch", "base", "scenario", "runs", "json", "junit", "server", "token-file", "tls-ca",
                                 "request-id"},
                           {"help", "kvm", "cold"});
  if (!parsed.ok()) {
    usage(stderr);
    return report_error("validate", parsed.error());
  }
  const ParsedArgs& args = *parsed;
  if (args.has("help") || args.all("patch").empty() || !args.positional.empty()) {
    usage(args.has("help") ? stdout : stderr);
    return args.has("help") ? kExitOk : kExitUsage;
  }
  auto runs_arg = args.positive_int("runs", 3);
  if (!runs_arg.ok()) return report_error("validate", runs_arg.error());
  vm::install_cancel_handlers();
  jobs::ValidateRequest request;
  request.runs = *runs_arg;
  request.base = args.get("base").value_or("buggy");
  request.scenarios = args.all("scenario");
  request.cold = args.has("cold");
  request.options.kvm = args.has("kvm");
  request.options.work_dir = work_dir();
  for (const auto& p : args.all("patch")) request.patches.emplace_back(p);

  ValidatePrinter printer;
  jobs::ValidateOutcome outcome;
  if (args.get("server")) {
    auto job = validate_remotely(args, request, printer);
    if (!job.ok()) return report_error("validate", job.error());
    if (!job->has_validate_report()) {
      // The job could not run: the same line and exit code as a local failure.
      std::fprintf(stderr, "racerig: %s\n", job->error().c_str());
      return job->exit_code();
    }
    outcome.report = job->validate_report();
    outcome.exit_code = job->exit_code();
  } else {
    auto local = jobs::run_validate(job_env(), request, printer);
    if (!local.ok()) {
      std::fprintf(stderr, "racerig: %s\n", local.error().message.c_str());
      return exit_code_for(local.error());
    }
    outcome = std::move(*local);
  }
  const pb::ValidateReport& report = outcome.report;
  if (!report.error().empty()) {
    std::fprintf(stderr, "racerig: validate: ERROR: %s\n", report.error().c_str());
    return finish(report, args, outcome.exit_code);
  }
  std::printf("\n%s", run::validation_table(report).c_str());
  return finish(report, args, outcome.exit_code);
}

}  // namespace racerig::host
