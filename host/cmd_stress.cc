// racerig stress: the baseline users have today. No forced schedule: an
// fsx-like actor and a FS_XFLAG_DAX flip loop run side by side for a while,
// and we see whether (and when) the kernel oopses. Same boot, oops analysis
// and report format as `reproduce`. The job itself is rig/jobs/stress_job;
// this is its command line (options and printing), run locally or (--server)
// on racerigd through host/job_path.h with the same output and exit codes.
#include <algorithm>
#include <cstdio>

#include "host/cli_util.h"
#include "host/commands.h"
#include "host/job_path.h"
#include "host/server_options.h"
#include "host/terminal_progress.h"
#include "rig/jobs/stress_job.h"
#include "rig/run/render.h"
#include "rig/process/cancel.h"
#include "rig/verdict/verdict.h"

namespace racerig::host {

namespace {

struct StressOptions {
  std::string kernel, json, request_id, scenario = "stress-fsx-vs-dax-flip";
  int runs = 1, duration = 60, seed = 0;  // seed 0: random
  bool kvm = false, verbose = false, cold = false;
  ServerArgs server;
  BackendArgs backend;
  std::string restore = "auto";  // auto, incoming, loadvm
};

// Prints a stress job as it goes: progress lines on stderr, each run's
// rendering and what its seed did on stdout.
class StressPrinter : public TerminalProgress {
 public:
  StressPrinter(bool verbose, int duration_s) : verbose_(verbose), duration_s_(duration_s) {}
  void note(const std::string& line) override {
    clear();
    progress_line(line);
  }
  void run_progress(int index, const std::string& line) override {
    if (verbose_) progress_line("run " + std::to_string(index) + ": " + line);
  }
  void run_done(const std::string&, const pb::RunReport& r) override {
    std::fputs(run::render_run(r, verbose_).c_str(), stdout);
    const auto seed = static_cast<unsigned long long>(r.seed());
    if (r.verdict() == pb::REPRODUCED)
      std::printf("  seed %llu: oops after %.1f s (%s)\n", seed, r.time_to_oops_ms() / 1000,
                  r.from_snapshot() ? "from the restore" : "boot included");
    else if (r.verdict() == pb::NOT_REPRODUCED)
      std::printf("  seed %llu: no oops in %d s\n", seed, duration_s_);
    else  // another oops, a hang, an inconclusive or failed run: the line above
          // says which
      std::printf("  seed %llu: not the scenario's oops (%s)\n", seed, verdict::verdict_name(r.verdict()));
    std::fflush(stdout);
  }

 private:
  bool verbose_;
  int duration_s_;
};

int run_stress(const StressOptions& args) {
  if (args.json == "-")
    if (Status s = reserve_stdout_for_json(); !s.ok()) return report_error("json", s.error());
  jobs::StressRequest request;
  request.scenario = args.scenario;
  request.kernel = args.kernel;
  request.runs = args.runs;
  request.duration_s = args.duration;
  request.seed = static_cast<uint64_t>(args.seed);  // 0: the job picks one
  request.cold = args.cold;
  request.options.kvm = args.kvm;
  request.options.work_dir = work_dir();
  request.options.logs_dir = run_logs_dir();
  if (Status s = apply_vm_args(args.backend, args.restore, request.options); !s.ok())
    return report_error("stress", s.error());
  process::install_cancel_handlers();

  StressPrinter printer(args.verbose, args.duration);
  auto ready = [&]() -> Status {
    if (args.server.server.empty()) return Status::Ok();
    if (args.kvm) return make_error(ErrorKind::kInput, "--kvm is for local runs, not --server");
    return check_no_vm_args_for_server(args.backend, args.restore);
  }();
  const auto end = ready.ok() ? run_job<jobs::StressKind>(request, args.server, args.request_id, printer)
                              : jobs::failed_end<jobs::StressKind>(job_env(), request, ready.error());
  const pb::ReproduceReport& all = end.report;
  if (end.failed) {
    // The report is written all the same, with the error in it.
    if (!args.json.empty())
      if (Status s = write_json(all, args.json); !s.ok()) report_error("json", s.error());
    std::fprintf(stderr, "racerig: stress: %s\n", end.error.c_str());
    return end.exit_code;
  }
  int infra_errors = 0;
  for (const auto& r : all.runs()) infra_errors += r.verdict() == pb::INFRA_ERROR;
  std::printf("stress on %s: %d/%d runs hit the scenario's oops (at most %d s each)\n", all.kernel_variant().c_str(),
              all.reproduced(), all.runs_size(), args.duration);
  return finish_runs(all, args.json, end.cancelled ? std::max(1, infra_errors) : infra_errors);
}

}  // namespace

Command add_stress_command(CLI::App& root) {
  auto o = std::make_shared<StressOptions>();
  CLI::App* app = root.add_subcommand("stress", "the unforced baseline: fsx against a FS_XFLAG_DAX flip loop");
  app->add_option("--kernel", o->kernel, "the kernel variant")->type_name("VARIANT")->required();
  add_count_option(*app, "--duration", o->duration, "seconds per run");
  add_count_option(*app, "--runs", o->runs, "how many runs");
  app->add_option("--seed", o->seed,
                  "fsx seed of run 1 (run i uses S+i-1; random unless given, "
                  "always printed)")
      ->type_name("S")
      ->check(positive_int());
  add_json_option(*app, o->json, "the report");
  app->add_option("--scenario", o->scenario,
                  "a stress scenario (no schedule): a name under "
                  "scenarios/stress/ or a file")
      ->type_name("NAME|FILE")
      ->capture_default_str();
  app->add_flag("--cold", o->cold, "boot a fresh VM for each run instead of restoring one snapshot");
  app->add_flag("--kvm", o->kvm, "use KVM instead of TCG");
  add_backend_options(*app, o->backend);
  app->add_flag("--verbose", o->verbose, "show each run's progress and full report");
  add_restore_option(*app, o->restore);
  add_server_options(*app, o->server, "run the job on racerigd and print its progress as it happens");
  app->add_option("--request-id", o->request_id, "with --server: an id that makes a repeated submit the same job")
      ->type_name("ID");
  app->footer(
      "Runs the seed's method unforced. Every run starts from one "
      "snapshot taken after guest set-up.\n"
      "With --server, racerigd's own --backend/--libvirt-uri/--restore "
      "choose how its runs boot.\n"
      "Exit: 0 every run hit the scenario's oops, 1 otherwise, 2 input "
      "error, 3 infrastructure error.");
  return Command{app, [o] { return run_stress(*o); }};
}

}  // namespace racerig::host
