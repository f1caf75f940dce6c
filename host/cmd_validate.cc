// racerig validate: judge candidate patches on the forced interleavings.
// The job itself is rig/jobs/validate_job; this is its command line: it
// prints each run's verdict and the table, and writes --json/--junit.
#include <cstdio>
#include <fstream>

#include "host/cli_util.h"
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

               "runs start from a ready-state snapshot per kernel; --cold boots QEMU for every run\n"

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

}  // namespace

int cmd_validate(const Args& raw) {
  auto parsed = parse_args(raw, {"patch", "base", "scenario", "runs", "json", "junit"}, {"help", "kvm", "cold"});
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
  auto outcome = jobs::run_validate(job_env(), request, printer);
  if (!outcome.ok()) {
    std::fprintf(stderr, "racerig: %s\n", outcome.error().message.c_str());
    return exit_code_for(outcome.error());
  }
  const pb::ValidateReport& report = outcome->report;
  if (!report.error().empty()) {
    std::fprintf(stderr, "racerig: validate: ERROR: %s\n", report.error().c_str());
    return finish(report, args, outcome->exit_code);
  }
  std::printf("\n%s", run::validation_table(report).c_str());
  return finish(report, args, outcome->exit_code);
}

}  // namespace racerig::host
