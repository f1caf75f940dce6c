// racerig workers: the workers that run racerigd's jobs (ListWorkers), with
// their load, backend and kernels, and which of them are lost.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "host/cli_util.h"
#include "host/client/connection.h"
#include "host/commands.h"
#include "host/server_options.h"

namespace racerig::host {

namespace {

struct WorkersOptions {
  ServerArgs server;
  bool kernels = false; // --kernels: list each worker's kernel cache keys
};

// "3.2 s", "4 min", "2 h": how long ago, for people.
std::string ago(int64_t ms) {
  char buf[32];
  if (ms < 60'000)
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  else if (ms < 3'600'000)
    std::snprintf(buf, sizeof buf, "%lld min",
                  static_cast<long long>(ms / 60'000));
  else
    std::snprintf(buf, sizeof buf, "%lld h",
                  static_cast<long long>(ms / 3'600'000));
  return buf;
}

int list_workers(const WorkersOptions &o) {
  auto c = client::Connection::open(o.server.options());
  if (!c.ok())
    return report_error("workers", c.error());
  pb::ListWorkersResponse resp;
  auto ctx = c->context();
  grpc::Status st =
      c->stub().ListWorkers(ctx.get(), pb::ListWorkersRequest(), &resp);
  if (!st.ok()) {
    std::fprintf(stderr, "racerig: %s\n",
                 client::status_text(c->server(), st).c_str());
    return client::exit_code_of(st);
  }
  if (resp.workers().empty()) {
    std::printf("no workers: none has sent a heartbeat (a frontend with "
                "--workers 0 runs nothing itself)\n");
    return kExitOk;
  }
  std::printf("%-28s %-6s %-10s %-5s %-7s %-24s %s\n", "worker", "state",
              "heartbeat", "jobs", "kernels", "backend", "running");
  int lost = 0;
  for (const auto &w : resp.workers()) {
    lost += w.lost() ? 1 : 0;
    std::string running;
    for (const auto &id : w.job_ids())
      running += (running.empty() ? "" : " ") + id;
    std::printf(
        "%-28s %-6s %-10s %-5s %-7d %-24s %s\n", w.name().c_str(),
        w.lost() ? "LOST" : "alive",
        (ago(w.heartbeat_age_ms()) + " ago").c_str(),
        (std::to_string(w.jobs_running()) + "/" + std::to_string(w.slots()))
            .c_str(),
        w.kernels_size(), w.backend().c_str(),
        running.empty() ? "-" : running.c_str());
    if (o.kernels)
      for (const auto &k : w.kernels())
        std::printf("  kernel %s\n", k.c_str());
  }
  if (lost > 0)
    std::printf("%d lost: no heartbeat within its lease (killed, or cut off "
                "from the database); its jobs are "
                "queued again once their leases expire\n",
                lost);
  return kExitOk;
}

} // namespace

Command add_workers_command(CLI::App &root) {
  auto o = std::make_shared<WorkersOptions>();
  CLI::App *app = root.add_subcommand(
      "workers", "list the workers that run racerigd's jobs: heartbeat, load "
                 "(running/slots), kernels, lost ones");
  app->add_flag("--kernels", o->kernels,
                "also list the kernel cache keys each worker holds");
  add_server_options(*app, o->server,
                     "racerigd to ask (default: $RACERIG_SERVER, else its "
                     "default UNIX socket)");
  app->footer(
      "The running column (job ids) is filled for an admin's token only.");
  return Command{app, [o] { return list_workers(*o); }};
}

} // namespace racerig::host
