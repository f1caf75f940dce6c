// racerig guest run: boot a kernel and run a workload with no schedule; print
// what the agent reports.
#include <cstdio>

#include "host/cli_util.h"
#include "host/commands.h"
#include "proto/text_format.h"
#include "rig/base/file.h"
#include "rig/run/agent_events.h"
#include "rig/run/run.h"
#include "rig/dwarf/symbols.h"
#include "rig/process/cancel.h"

namespace racerig::host {

namespace {

Result<pb::Workload> load_workload(const std::string& path) {
  RACERIG_ASSIGN(std::string text, read_file(path, "workload"));
  pb::Workload w;
  RACERIG_TRY(proto::parse_text_format(text, path, &w));
  return w;
}

struct GuestOptions {
  std::string kernel, workload, json;
  bool kvm = false, console = false;
};

int run_guest(const GuestOptions& args) {
  if (args.json == "-")
    if (Status s = reserve_stdout_for_json(); !s.ok()) return report_error("json", s.error());
  process::install_cancel_handlers();
  auto workload = load_workload(args.workload);
  if (!workload.ok()) return report_error("workload", workload.error());
  auto kernel = ensure_kernel(args.kernel);
  if (!kernel.ok()) return report_error("kernel " + args.kernel, kernel.error());
  auto syms = dwarf::Symbols::open(kernel->vmlinux.string());
  if (!syms.ok()) return report_error("symbols", syms.error());

  scenario::LoadedScenario loaded;
  loaded.path = args.workload;
  loaded.scenario.set_name("guest-run");
  *loaded.scenario.mutable_workload() = *workload;
  loaded.vcpus = scenario::machine_cpus(loaded.scenario);
  run::RunOptions options;
  options.kvm = args.kvm;
  options.work_dir = work_dir();
  options.logs_dir = run_logs_dir();
  auto ctx = run::prepare_run(*kernel, std::shared_ptr<const dwarf::Symbols>(std::move(*syms)), std::move(loaded),
                              options);
  if (!ctx.ok()) return report_error("guest", ctx.error());
  progress_line("booting " + kernel->variant + " and running " + args.workload);
  pb::RunReport r = run::run_once(*ctx, 1, [](const std::string& line) { progress_line(line); });
  if (args.console) std::fputs(r.console().c_str(), stdout);
  bool failed = false;
  for (const auto& e : r.agent()) {
    std::printf("%s\n", run::describe_agent_event(e).c_str());
    failed = failed || e.kind() == pb::AgentEvent::OP_FAILED || e.kind() == pb::AgentEvent::FATAL;
  }
  std::string timings;
  for (const auto& t : r.timings()) timings += " " + t.phase() + "=" + std::to_string(static_cast<int>(t.ms())) + "ms";
  std::printf("guest run on %s:%s\n", kernel->variant.c_str(), timings.c_str());
  if (r.has_oops()) std::printf("the kernel oopsed: %s\n", r.oops().headline().c_str());
  if (!args.json.empty()) {
    if (Status s = write_json(r, args.json); !s.ok()) return report_error("json", s.error());
  }
  bool done = false;
  for (const auto& e : r.agent()) done = done || e.kind() == pb::AgentEvent::DONE;
  if (!done) {
    std::fprintf(stderr, "racerig: the guest did not finish: %s\n", r.reason().c_str());
    return kExitInfra;
  }
  return failed || r.has_oops() ? kExitNegative : kExitOk;
}

}  // namespace

Command add_guest_command(CLI::App& root) {
  CLI::App* guest = root.add_subcommand("guest", "boot a kernel and run a workload, no schedule");
  guest->require_subcommand(1);
  auto o = std::make_shared<GuestOptions>();
  CLI::App* app = guest->add_subcommand("run", "boot a kernel, run a workload and print what the agent reports");
  app->add_option("--kernel", o->kernel, "the kernel variant")->type_name("VARIANT")->required();
  app->add_option("--workload", o->workload, "the workload (a pb.Workload textproto)")->type_name("FILE")->required();
  add_json_option(*app, o->json, "the run's report");
  app->add_flag("--console", o->console, "print the guest's console");
  app->add_flag("--kvm", o->kvm, "use KVM instead of TCG");
  app->footer("Exit: 0 the workload finished, 1 an op failed or the kernel oopsed, 3 the guest did not finish.");
  return Command{app, [o] { return run_guest(*o); }};
}

}  // namespace racerig::host
