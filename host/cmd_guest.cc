// racerig guest run: boot a kernel and run a workload with no schedule; print
// what the agent reports.
#include <cstdio>
#include <fstream>
#include <sstream>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "host/cli_util.h"
#include "host/commands.h"
#include "rig/run/agent_events.h"
#include "rig/run/run.h"
#include "rig/dwarf/symbols.h"
#include "rig/qemu/cancel.h"

namespace racerig::host {

namespace {

class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  explicit FirstError(std::string file) : file_(std::move(file)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber col, const std::string& msg) override {
    if (first_.empty()) first_ = file_ + ":" + std::to_string(line + 1) + ":" + std::to_string(col + 1) + ": " + msg;
  }
  std::string first_;

 private:
  std::string file_;
};

Result<pb::Workload> load_workload(const std::string& path) {
  std::ifstream in(path);
  if (!in) return errno_error("reading workload " + path);
  std::stringstream text;
  text << in.rdbuf();
  pb::Workload w;
  google::protobuf::TextFormat::Parser parser;
  FirstError errors(path);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text.str(), &w)) return make_error(ErrorKind::kInput, errors.first_);
  return w;
}

}  // namespace

int cmd_guest(const Args& raw) {
  auto parsed = parse_args(raw, {"kernel", "workload", "json"}, {"kvm", "help", "console"});
  if (!parsed.ok()) return report_error("guest", parsed.error());
  const ParsedArgs& args = *parsed;
  if (args.has("help") || args.positional.size() != 1 || args.positional[0] != "run" || !args.get("kernel") ||
      !args.get("workload")) {
    std::fprintf(args.has("help") ? stdout : stderr,
                 "usage: racerig guest run --kernel VARIANT --workload FILE [--json FILE] [--console] [--kvm]\n");
    return args.has("help") ? kExitOk : kExitUsage;
  }
  vm::install_cancel_handlers();
  auto workload = load_workload(*args.get("workload"));
  if (!workload.ok()) return report_error("workload", workload.error());
  auto kernel = ensure_kernel(*args.get("kernel"));
  if (!kernel.ok()) return report_error("kernel " + *args.get("kernel"), kernel.error());
  auto syms = symbols::Symbols::open(kernel->vmlinux.string());
  if (!syms.ok()) return report_error("symbols", syms.error());

  scenario::LoadedScenario loaded;
  loaded.path = *args.get("workload");
  loaded.scenario.set_name("guest-run");
  *loaded.scenario.mutable_workload() = *workload;
  run::RunOptions options;
  options.kvm = args.has("kvm");
  options.work_dir = work_dir();
  auto ctx = run::prepare_run(*kernel, std::shared_ptr<const symbols::Symbols>(std::move(*syms)), std::move(loaded),
                              options);
  if (!ctx.ok()) return report_error("guest", ctx.error());
  progress_line("booting " + kernel->variant + " and running " + *args.get("workload"));
  pb::RunReport r = run::run_once(*ctx, 1, [](const std::string& line) { progress_line(line); });
  if (args.has("console")) std::fputs(r.console().c_str(), stdout);
  bool failed = false;
  for (const auto& e : r.agent()) {
    std::printf("%s\n", run::describe_agent_event(e).c_str());
    failed = failed || e.kind() == pb::AgentEvent::OP_FAILED || e.kind() == pb::AgentEvent::FATAL;
  }
  std::string timings;
  for (const auto& t : r.timings()) timings += " " + t.phase() + "=" + std::to_string(static_cast<int>(t.ms())) + "ms";
  std::printf("guest run on %s:%s\n", kernel->variant.c_str(), timings.c_str());
  if (r.has_oops()) std::printf("the kernel oopsed: %s\n", r.oops().headline().c_str());
  if (auto json = args.get("json")) {
    if (Status s = write_json(r, *json); !s.ok()) return report_error("json", s.error());
  }
  bool done = false;
  for (const auto& e : r.agent()) done = done || e.kind() == pb::AgentEvent::DONE;
  if (!done) {
    std::fprintf(stderr, "racerig: the guest did not finish: %s\n", r.reason().c_str());
    return kExitInfra;
  }
  return failed || r.has_oops() ? kExitNegative : kExitOk;
}

}  // namespace racerig::host
