// racerig explore: every schedule of a scenario's explore {} window on one
// kernel, and the map of point -> verdict. The job itself is
// rig/jobs/explore_job; this is its command line (options and printing), run
// locally or (--server) on racerigd through host/job_path.h with the same
// output and exit codes.
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "host/cli_util.h"
#include "host/commands.h"
#include "host/job_path.h"
#include "host/server_options.h"
#include "host/terminal_progress.h"
#include "rig/base/file.h"
#include "rig/explore/emit.h"
#include "rig/explore/map.h"
#include "rig/jobs/explore_job.h"
#include "rig/process/cancel.h"
#include "rig/report/explore_page.h"
#include "rig/report/kernel_source.h"
#include "rig/scenario/scenario.h"

namespace racerig::host {

namespace {

struct ExploreArgs {
  std::string scenario, kernel, json, request_id, html, source, emit;
  int max_schedules = 0;  // 0: every schedule
  int depth = 1;
  int vms = 0;  // 0: as the cores allow
  int cpus = run::RunOptions{}.cpus;
  bool kvm = false;
  ServerArgs server;
  BackendArgs backend;
  std::string restore = "auto";  // auto, incoming, loadvm
};

// Prints an explore job as it goes: its notes (the trace, each schedule's
// verdict) on stderr; the map comes on stdout at the end.
class ExplorePrinter : public TerminalProgress {
 public:
  void note(const std::string& line) override {
    clear();
    progress_line(line);
  }
};

// --html: the self-contained page; --emit-scenarios: each distinct
// reproducing schedule as a scenario file (the scenario as this client
// finds it, its schedule replaced).
Status write_outputs(const ExploreArgs& args, const pb::ExploreReport& report) {
  if (!args.html.empty()) {
    std::filesystem::path source = args.source;
    if (source.empty()) {
      const report::SourceTree tree =
          report::kernel_source(job_env().kernels_dir(), job_env().cache_root, report.kernel_variant());
      source = tree.root;
      if (!tree.note.empty()) progress_line("--html: " + tree.note);
    }
    RACERIG_ASSIGN(std::string page, report::render_explore_page(report, source));
    RACERIG_TRY(write_file_atomic(args.html, page));
    progress_line("wrote the map's page to " + args.html);
  }
  if (!args.emit.empty()) {
    RACERIG_ASSIGN(auto path, scenario::find_scenario(args.scenario, job_env().scenarios_dir()));
    RACERIG_ASSIGN(auto loaded, scenario::load_scenario(path));
    RACERIG_ASSIGN(auto files, explore::emit_scenarios(report, loaded.scenario, args.emit));
    progress_line("wrote " + std::to_string(files.size()) + " reproducing schedule(s) as scenarios under " + args.emit);
  }
  return Status::Ok();
}

// --max-schedules: 0 (every schedule) to 100000, said as positive_int() says it.
const CLI::Validator& schedule_count() {
  static const CLI::Validator v(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        long n = std::strtol(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || errno != 0 || n < 0 || n > 100000)
          return "wants a number from 0 (every schedule) to 100000, got \"" + text + "\"";
        return {};
      },
      "0..100000", "schedule_count");
  return v;
}

int run_explore(const ExploreArgs& args) {
  if (args.json == "-")
    if (Status s = reserve_stdout_for_json(); !s.ok()) return report_error("json", s.error());
  process::install_cancel_handlers();
  jobs::ExploreRequest request;
  request.scenario = args.scenario;
  request.kernel = args.kernel;
  request.max_schedules = args.max_schedules;
  request.depth = args.depth;
  request.vms = args.vms;
  request.options.cpus = args.cpus;
  request.options.kvm = args.kvm;
  request.options.work_dir = work_dir();
  request.options.logs_dir = run_logs_dir();

  ExplorePrinter printer;
  auto ready = [&]() -> Status {
    RACERIG_TRY(apply_vm_args(args.backend, args.restore, request.options));
    if (args.server.server.empty()) return Status::Ok();
    if (args.kvm || args.cpus != run::RunOptions{}.cpus || args.vms != 0)
      return make_error(ErrorKind::kInput, "--kvm, --cpus and --vms are for local runs, not --server");
    return check_no_vm_args_for_server(args.backend, args.restore);
  }();
  const auto end = ready.ok() ? run_job<jobs::ExploreKind>(request, args.server, args.request_id, printer)
                              : jobs::failed_end<jobs::ExploreKind>(job_env(), request, ready.error());
  // The report is written even when the exploration failed early, with the error in it.
  int code = end.exit_code;
  if (!args.json.empty())
    if (Status s = write_json(end.report, args.json); !s.ok()) code = report_error("json", s.error());
  if (end.failed) {
    std::fprintf(stderr, "racerig: %s\n", end.error.c_str());
    return code;
  }
  std::fputs(explore::render_map(end.report).c_str(), stdout);
  std::fflush(stdout);
  if (Status s = write_outputs(args, end.report); !s.ok()) code = report_error("explore", s.error());
  if (!end.error.empty()) std::fprintf(stderr, "racerig: %s\n", end.error.c_str());
  if (end.cancelled) progress_line("interrupted");
  return code;
}

}  // namespace

Command add_explore_command(CLI::App& root) {
  auto o = std::make_shared<ExploreArgs>();
  CLI::App* app =
      root.add_subcommand("explore", "run every schedule of a scenario's explore {} window and map point -> verdict");
  app->add_option("--scenario", o->scenario, "the scenario (with an explore {} block): a name or a .textproto file")
      ->type_name("NAME|FILE")
      ->required();
  app->add_option("--kernel", o->kernel, "the kernel variant (racerig kernel list)")->type_name("VARIANT")->required();
  app->add_option("--max-schedules", o->max_schedules, "run at most N schedules, the first ones (0: every one)")
      ->type_name("N")
      ->check(schedule_count())
      ->capture_default_str();
  app->add_option("--depth", o->depth,
                  "1: hold each point while the other actor runs to its end; 2: also pairs of points (hold A at p, "
                  "run B to q and hold it, let A finish), pruned by depth 1")
      ->type_name("N")
      ->check(CLI::Range(1, 2))
      ->capture_default_str();
  app->add_option("--vms", o->vms,
                  "how many VMs run schedules at once, each restored from the cached snapshot (0: the host's cores / "
                  "the guest's vCPUs)")
      ->type_name("N")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  add_count_option(*app, "--cpus", o->cpus, "vCPUs of the guest");
  add_json_option(*app, o->json, "the report (the trace and every schedule)");
  app->add_option("--html", o->html, "write the map as one self-contained HTML page (no network)")->type_name("FILE");
  app->add_option("--source", o->source,
                  "with --html: the kernel source tree the page shows the window's lines from (default: the kernel "
                  "cache's tree the kernel was built in, when it still has it)")
      ->type_name("DIR");
  app->add_option("--emit-scenarios", o->emit, "write each distinct reproducing schedule as a scenario file under DIR")
      ->type_name("DIR");
  app->add_flag("--kvm", o->kvm, "use KVM instead of TCG");
  add_server_options(*app, o->server, "run the job on racerigd and print its progress as it happens");
  app->add_option("--request-id", o->request_id, "with --server: an id that makes a repeated submit the same job")
      ->type_name("ID");
  add_backend_options(*app, o->backend);
  add_restore_option(*app, o->restore);
  app->footer(
      "A trace run records each explored actor's code points in the window; then, for each\n"
      "ordered pair of actors (A, B) and each point p of A, one schedule from the ready-state\n"
      "snapshot: hold A at p, run B to its end, release A. With --server, racerigd's own\n"
      "--backend/--libvirt-uri/--restore choose how its runs boot.\n"
      "Exit: 0 some schedule reproduced, 1 none did, 2 input error, 3 infrastructure error\n"
      "(a failed trace, a schedule's INFRA_ERROR, or interrupted).");
  return Command{app, [o] { return run_explore(*o); }};
}

}  // namespace racerig::host
