// racerig reproduce: force a scenario's interleaving on a kernel, N times.
// The job itself is rig/jobs/reproduce_job; this is its command line.
#include <cstdio>

#include "host/cli_util.h"
#include "host/client/submit.h"
#include "host/commands.h"
#include "host/terminal_progress.h"
#include "rig/jobs/reproduce_job.h"
#include "rig/qemu/cancel.h"

namespace racerig::host {

namespace {

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

}  // namespace

int cmd_reproduce(const Args& raw) {
  auto parsed = parse_args(raw, {"scenario", "kernel", "runs", "json", "cpus", "server", "token-file", "tls-ca", "request-id"},
                           {"attach", "kvm", "verbose", "help", "cold"});
  if (!parsed.ok()) return report_error("reproduce", parsed.error());
  const ParsedArgs& args = *parsed;
  if (args.has("help") || !args.get("scenario") || !args.get("kernel") || !args.positional.empty()) {
    std::fprintf(args.has("help") ? stdout : stderr,
                 "usage: racerig reproduce --scenario NAME|FILE --kernel VARIANT [--runs N] [--json FILE]\n"
                 "                         [--cold] [--attach] [--kvm] [--verbose]\n"
                 "                         [--server unix:PATH|HOST:PORT [--token-file FILE] [--tls-ca FILE]\n"
                 "                          [--request-id ID]]\n"
                 "runs start from a snapshot of the ready guest (taken once per invocation);\n"
                 "--cold boots QEMU for every run (--attach implies it).\n");
    return args.has("help") ? kExitOk : kExitUsage;
  }
  jobs::ReproduceRequest request;
  auto runs_arg = args.positive_int("runs", 1);
  auto cpus_arg = args.positive_int("cpus", request.options.cpus);
  for (auto* r : {&runs_arg, &cpus_arg})
    if (!r->ok()) return report_error("reproduce", r->error());
  request.scenario = *args.get("scenario");
  request.kernel = *args.get("kernel");
  request.runs = *runs_arg;
  request.cold = args.has("cold");
  request.options.cpus = *cpus_arg;
  request.options.kvm = args.has("kvm");
  request.options.attach = args.has("attach");
  request.options.work_dir = work_dir();
  vm::install_cancel_handlers();

  ReproducePrinter printer(args.has("verbose"));
  jobs::ReproduceOutcome outcome;
  if (args.get("server")) {
    if (request.options.attach || request.options.kvm || args.get("cpus"))
      return report_error("reproduce", make_error(ErrorKind::kInput, "--attach, --kvm and --cpus are for local runs, not --server"));
    pb::SubmitReproduceRequest req;
    req.set_request_id(args.get("request-id").value_or(client::new_request_id()));
    auto ref = client::scenario_ref(request.scenario);
    if (!ref.ok()) return report_error("reproduce", ref.error());
    *req.mutable_scenario() = *ref;
    req.set_kernel(request.kernel);
    req.set_runs(request.runs);
    req.set_cold(request.cold);
    client::ServerOptions server{*args.get("server"), args.get("token-file"), args.get("tls-ca")};
    auto job = client::submit_and_follow(server, req, printer, progress_line);
    if (!job.ok()) return report_error("reproduce", job.error());
    if (!job->has_reproduce_report()) {
      // The job could not run: the same line and exit code as a local failure.
      std::fprintf(stderr, "racerig: %s\n", job->error().c_str());
      return job->exit_code();
    }
    outcome.report = job->reproduce_report();
    for (const auto& r : outcome.report.runs()) outcome.infra_errors += r.verdict() == pb::INFRA_ERROR;
    outcome.cancelled = job->state() == pb::CANCELLED;
  } else {
    auto local = jobs::run_reproduce(job_env(), request, printer);
    if (!local.ok()) {
      std::fprintf(stderr, "racerig: %s\n", local.error().message.c_str());
      return exit_code_for(local.error());
    }
    outcome = std::move(*local);
  }
  const pb::ReproduceReport& all = outcome.report;
  std::printf("%s on %s: %d/%d reproduced\n", all.scenario().c_str(), all.kernel_variant().c_str(), all.reproduced(),
              all.runs_size());
  if (outcome.cancelled) {
    if (auto json = args.get("json"); json && !write_json(all, *json).ok()) return kExitInfra;
    progress_line("interrupted");
    return kExitInfra;
  }
  return finish_runs(all, args.get("json"), outcome.infra_errors);
}

}  // namespace racerig::host
