// racerig reproduce: force a scenario's interleaving on a kernel, N times.
// The job itself is rig/jobs/reproduce_job; this is its command line (options
// and printing), run locally or (--server) on racerigd through host/job_path.h
// with the same output and exit codes.
#include <algorithm>
#include <cstdio>

#include "host/cli_util.h"
#include "host/commands.h"
#include "host/job_path.h"
#include "host/report_html.h"
#include "host/server_options.h"
#include "host/terminal_progress.h"
#include "rig/jobs/reproduce_job.h"
#include "rig/process/cancel.h"
#include "rig/run/render.h"

namespace racerig::host {

namespace {

struct ReproduceOptions {
  std::string scenario, kernel, json, request_id;
  int runs = 1;
  int cpus = run::RunOptions{}.cpus;
  bool cold = false, attach = false, kvm = false, verbose = false;
  ServerArgs server;
  BackendArgs backend;
  HtmlArgs html;
  std::string restore = "auto";  // auto, incoming, loadvm
};

// Prints a reproduce job as it goes: progress lines on stderr, each run's
// rendering on stdout.
class ReproducePrinter : public TerminalProgress {
 public:
  explicit ReproducePrinter(bool verbose) : verbose_(verbose) {}
  void note(const std::string& line) override {
    clear();
    progress_line(line);
  }
  void run_progress(int index, const std::string& line) override {
    // The attach line is for a human who waits for it: always shown.
    if (verbose_ || line.rfind("attach:", 0) == 0) progress_line("run " + std::to_string(index) + ": " + line);
  }
  void run_done(const std::string&, const pb::RunReport& report) override {
    std::fputs(run::render_run(report, verbose_).c_str(), stdout);
    std::fflush(stdout);
  }

 private:
  bool verbose_;
};

int run_reproduce(const ReproduceOptions& args) {
  if (args.json == "-")
    if (Status s = reserve_stdout_for_json(); !s.ok()) return report_error("json", s.error());
  process::install_cancel_handlers();
  jobs::ReproduceRequest request;
  request.scenario = args.scenario;
  request.kernel = args.kernel;
  request.runs = args.runs;
  request.cold = args.cold;
  request.options.cpus = args.cpus;
  request.options.kvm = args.kvm;
  request.options.attach = args.attach;
  request.options.work_dir = work_dir();
  request.options.logs_dir = run_logs_dir();

  ReproducePrinter printer(args.verbose);
  auto ready = [&]() -> Status {
    RACERIG_TRY(apply_vm_args(args.backend, args.restore, request.options));
    if (args.server.server.empty()) return Status::Ok();
    if (args.attach || args.kvm || args.cpus != run::RunOptions{}.cpus)
      return make_error(ErrorKind::kInput, "--attach, --kvm and --cpus are for local runs, not --server");
    return check_no_vm_args_for_server(args.backend, args.restore);
  }();
  const auto end = ready.ok() ? run_job<jobs::ReproduceKind>(request, args.server, args.request_id, printer)
                              : jobs::failed_end<jobs::ReproduceKind>(job_env(), request, ready.error());
  const pb::ReproduceReport& all = end.report;
  // The page is written whatever happened, with the error in it.
  if (Status s = write_reproduce_html(args.html, all); !s.ok()) report_error("html", s.error());
  if (end.failed) {
    // A failure before the runs: the report is written all the same, with the error.
    if (!args.json.empty())
      if (Status s = write_json(all, args.json); !s.ok()) report_error("json", s.error());
    std::fprintf(stderr, "racerig: %s\n", end.error.c_str());
    return end.exit_code;
  }
  int infra_errors = 0;
  for (const auto& r : all.runs()) infra_errors += r.verdict() == pb::INFRA_ERROR;
  std::printf("%s\n", run::reproduce_line(all).c_str());
  return finish_runs(all, args.json, end.cancelled ? std::max(1, infra_errors) : infra_errors);
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
  add_html_options(*app, o->html);
  app->add_flag("--cold", o->cold, "boot QEMU for every run instead of restoring the ready-state snapshot");
  app->add_flag("--attach", o->attach, "wait at each hold point for a gdb to attach (implies --cold)");
  app->add_flag("--kvm", o->kvm, "use KVM instead of TCG");
  app->add_flag("--verbose", o->verbose, "show each run's progress and full report");
  add_server_options(*app, o->server, "run the job on racerigd and print its progress as it happens");
  app->add_option("--request-id", o->request_id, "with --server: an id that makes a repeated submit the same job")
      ->type_name("ID");
  add_backend_options(*app, o->backend);
  add_restore_option(*app, o->restore);
  app->footer(
      "Runs start from a snapshot of the ready guest, made once and kept in the cache (--restore\n"
      "loadvm: taken once per invocation); --cold boots QEMU for every run. With --server, racerigd's\n"
      "own --backend/--libvirt-uri/--restore choose how its runs boot.\n"
      "Exit: 0 every run reproduced, 1 otherwise, 2 input error, 3 infrastructure error.");
  return Command{app, [o] { return run_reproduce(*o); }};
}

}  // namespace racerig::host
