// `racerig bench`'s service row (see bench_service.h).
#include "host/bench_service.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "host/bench_service_table.h"
#include "host/cli_util.h"
#include "host/client/connection.h"
#include "host/commands.h"
#include "host/racerigd_process.h"
#include "rig/base/file.h"
#include "rig/base/scoped_fd.h"
#include "rig/process/cancel.h"
#include "rig/process/process.h"
#include "rig/scenario/scenario.h"
#include "rig/service/local_postgres.h"

namespace racerig::host {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// A racerigd's start (the frontend opens the store and migrates it; a
// worker also opens its kernel cache): seconds on an idle machine, much
// more under load.
constexpr auto kReadyDeadline = std::chrono::seconds(180);
// One job's bound when it runs alone: a warm job takes about a second;
// the warm-up job may make the NVDIMM template and the ready-state
// snapshot (a boot or two).
constexpr double kJobDeadlineS = 600;
// A batch's bound: this much per job and worker, and kJobDeadlineS more.
constexpr double kBatchJobS = 120;
// Before each queue-latency job: the worker has gone back to waiting for
// work after the previous one (its claim's LISTEN), so it is idle.
constexpr auto kIdlePause = std::chrono::milliseconds(1000);

// A temporary directory of our own, removed (with what is in it) on
// destruction.
class TempDir {
 public:
  static Result<TempDir> make(const std::string& prefix) {
    std::string tmpl = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) return errno_error("mkdtemp " + tmpl);
    return TempDir(tmpl);
  }
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, fs::path())) {}
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

// One worker count's processes: a frontend and its workers on one
// database. Destroyed workers first (their running jobs go back to the
// queue), then the frontend.
struct SetUp {
  std::string server;  // unix:PATH of the frontend
  std::unique_ptr<RacerigdProcess> frontend;
  std::vector<std::unique_ptr<RacerigdProcess>> workers;
};

Result<SetUp> start_set_up(const fs::path& racerigd, const service::LocalPostgres& pg, const fs::path& dir,
                           int workers, int jobs) {
  const std::string db = "bench" + std::to_string(workers);
  if (Status s = pg.create_database(db); !s.ok()) return s.error().wrap("database " + db);
  const std::string dsn = pg.dsn(db);
  const std::string limit = std::to_string(std::max(1000, jobs + 100));
  SetUp set_up;
  const fs::path socket = dir / ("frontend-" + std::to_string(workers) + ".sock");
  set_up.server = "unix:" + socket.string();
  const std::string tag = std::to_string(workers) + "w";
  auto front = RacerigdProcess::start(
      "the frontend (" + tag + ")", racerigd,
      {"--store", dsn, "--workers", "0", "--socket", socket.string(), "--state", (dir / ("frontend-" + tag)).string(),
       "--max-queued", limit, "--max-queued-per-submitter", limit},
      dir / ("frontend-" + tag + ".log"), "racerigd: serving", Deadline::after(kReadyDeadline));
  if (!front.ok()) return front.error();
  set_up.frontend = std::move(*front);
  for (int i = 1; i <= workers; ++i) {
    const std::string name = "worker-" + tag + "-" + std::to_string(i);
    auto w = RacerigdProcess::start("worker " + std::to_string(i) + " of " + std::to_string(workers), racerigd,
                                    {"--store", dsn, "--worker", "--workers", "1", "--state", (dir / name).string()},
                                    dir / (name + ".log"), "racerigd: worker", Deadline::after(kReadyDeadline));
    if (!w.ok()) return w.error();
    set_up.workers.push_back(std::move(*w));
  }
  return set_up;
}

// `racerig reproduce --server SERVER --scenario S --kernel K --runs 1`,
// its output to `log`.
Result<process::Child> start_client(const fs::path& racerig, const std::string& server,
                                    const ServiceBenchOptions& options, const fs::path& log) {
  ScopedFd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out.valid()) return errno_error("opening the client's log " + log.string());
  process::Spec spec;
  spec.argv = {racerig.string(), "reproduce", "--server", server, "--scenario", options.scenario, "--kernel",
               options.kernel, "--runs", "1"};
  spec.output_fd = out.get();
  return process::Child::spawn(spec);
}

// Waits until every client exited, polling their pidfds; kTimeout at
// `deadline`, kCancelled on Ctrl-C, kIo as soon as one of `set_up`'s
// racerigds has died (the caller's destructors then kill what is left).
Status wait_all(std::vector<process::Child>& clients, SetUp& set_up, Deadline deadline) {
  for (;;) {
    RACERIG_TRY(set_up.frontend->check_running());
    for (auto& w : set_up.workers) RACERIG_TRY(w->check_running());
    std::vector<pollfd> fds;
    size_t running = 0;
    for (auto& c : clients)
      if (!c.try_reap()) {
        ++running;
        fds.push_back({c.pidfd(), POLLIN, 0});
      }
    if (running == 0) return Status::Ok();
    if (process::cancelled()) return make_error(ErrorKind::kCancelled, "interrupted");
    if (deadline.expired())
      return make_error(ErrorKind::kTimeout, std::to_string(running) + " of " + std::to_string(clients.size()) +
                                                 " client(s) had not ended by the deadline");
    if (process::cancel_fd() >= 0) fds.push_back({process::cancel_fd(), POLLIN, 0});
    (void)::poll(fds.data(), fds.size(), std::min(deadline.poll_timeout_ms(), 1000));
  }
}

// A client's exit that is a verdict (0: reproduced, 1: not), not an error.
bool is_verdict(const process::Child& c) { return c.exit_code() == 0 || c.exit_code() == 1; }

// One client, started and waited for; kIo quoting its output when it ended
// with an error rather than a verdict.
Result<std::string> run_one_client(const fs::path& racerig, SetUp& set_up, const ServiceBenchOptions& options,
                                   const fs::path& log, const std::string& what) {
  RACERIG_ASSIGN(process::Child client, start_client(racerig, set_up.server, options, log));
  std::vector<process::Child> one;
  one.push_back(std::move(client));
  if (Status s = wait_all(one, set_up, Deadline::after_seconds(kJobDeadlineS)); !s.ok()) return s.error().wrap(what);
  if (!is_verdict(one[0]))
    return make_error(ErrorKind::kIo, what + ": the client " + one[0].describe_exit() + ":\n" + log_tail(log));
  auto text = read_file(log);
  if (!text.ok()) return text.error().wrap(what);
  return *text;
}

// Sleeps `d` unless Ctrl-C comes first (then kCancelled).
Status pause(std::chrono::milliseconds d) {
  const Deadline until = Deadline::after(d);
  while (!until.expired()) {
    if (process::cancelled()) return make_error(ErrorKind::kCancelled, "interrupted");
    pollfd p{process::cancel_fd(), POLLIN, 0};
    (void)::poll(&p, p.fd >= 0 ? 1 : 0, until.poll_timeout_ms());
  }
  return Status::Ok();
}

// Submit to start of job `id` (the store's timestamps, through the
// frontend's GetJob), seconds.
Result<double> queue_latency_s(client::Connection& connection, const std::string& id) {
  pb::GetJobRequest req;
  req.set_id(id);
  pb::Job job;
  auto ctx = connection.context();
  grpc::Status st = connection.stub().GetJob(ctx.get(), req, &job);
  if (!st.ok()) return make_error(ErrorKind::kIo, client::status_text(connection.server(), st));
  if (job.started_unix_ms() == 0 || job.attempt() != 1)
    return make_error(ErrorKind::kProtocol, "job " + id + " on " + connection.server() + ": state " +
                                                pb::JobState_Name(job.state()) + ", attempt " +
                                                std::to_string(job.attempt()) + ": not one clean start");
  return static_cast<double>(job.started_unix_ms() - job.submitted_unix_ms()) / 1000.0;
}

// Jobs submitted one at a time to `set_up` (its one worker idle), each
// one's submit-to-start into `out`.
Status measure_latency(const fs::path& racerig, SetUp& set_up, const fs::path& dir,
                       const ServiceBenchOptions& options, pb::ServiceBench* out) {
  client::ServerOptions server;
  server.server = set_up.server;
  RACERIG_ASSIGN(client::Connection connection, client::Connection::open(server));
  for (int i = 1; i <= options.latency_samples; ++i) {
    RACERIG_TRY(pause(kIdlePause));
    const std::string what = "queue-latency job " + std::to_string(i);
    RACERIG_ASSIGN(std::string output,
                   run_one_client(racerig, set_up, options, dir / ("latency-" + std::to_string(i) + ".log"), what));
    auto id = submitted_job_id(output);
    if (!id.ok()) return id.error().wrap(what);
    auto s = queue_latency_s(connection, *id);
    if (!s.ok()) return s.error().wrap(what);
    out->add_queue_latency_s(*s);
    std::printf("service: queue latency, job %d of %d: %.3f s\n", i, options.latency_samples, *s);
    std::fflush(stdout);
  }
  return Status::Ok();
}

// `jobs` clients started at once against `set_up`; the run's figures.
Result<pb::ServiceBenchRun> measure_batch(const fs::path& racerig, SetUp& set_up, const fs::path& dir,
                                          const ServiceBenchOptions& options) {
  pb::ServiceBenchRun run;
  run.set_workers(static_cast<int>(set_up.workers.size()));
  run.set_jobs(options.jobs);
  const std::string tag = std::to_string(set_up.workers.size()) + "w";
  std::vector<process::Child> clients;
  std::vector<fs::path> logs;
  const auto t0 = Clock::now();
  for (int i = 1; i <= options.jobs; ++i) {
    logs.push_back(dir / ("client-" + tag + "-" + std::to_string(i) + ".log"));
    auto c = start_client(racerig, set_up.server, options, logs.back());
    if (!c.ok()) return c.error().wrap("client " + std::to_string(i));
    clients.push_back(std::move(*c));
  }
  const double bound_s = kJobDeadlineS + kBatchJobS * options.jobs / run.workers();
  RACERIG_TRY(wait_all(clients, set_up, Deadline::after_seconds(bound_s)));
  run.set_wall_s(std::chrono::duration<double>(Clock::now() - t0).count());
  for (size_t i = 0; i < clients.size(); ++i) {
    if (is_verdict(clients[i])) continue;
    if (run.failed() == 0)
      run.set_first_failure("client " + std::to_string(i + 1) + " " + clients[i].describe_exit() + ": " +
                            log_tail(logs[i], 600));
    run.set_failed(run.failed() + 1);
  }
  return run;
}

Status measure(const ServiceBenchOptions& options, pb::ServiceBench* out) {
  if (options.jobs < 1 || options.max_workers < 1 || options.latency_samples < 0)
    return make_error(ErrorKind::kInput, "the service row needs at least one job and one worker");
  RACERIG_ASSIGN(fs::path racerigd, racerigd_beside_racerig());
  const fs::path racerig = racerigd.parent_path() / "racerig";
  RACERIG_ASSIGN(fs::path scenario_path,
                 scenario::find_scenario(options.scenario, fs::path(repo_root()) / "scenarios"));
  RACERIG_ASSIGN(scenario::LoadedScenario scenario, scenario::load_scenario(scenario_path));
  out->set_vcpus_per_job(scenario.vcpus);
  RACERIG_ASSIGN(TempDir dir, TempDir::make("racerig-bench-service-"));
  progress_line("service: starting PostgreSQL (initdb, pg_ctl) for the service row");
  auto pg = service::LocalPostgres::start();
  if (!pg.ok()) return pg.error().wrap("PostgreSQL");
  if (auto v = (*pg)->version(); v.ok()) out->set_store("PostgreSQL " + *v);
  for (int workers = 1; workers <= options.max_workers; ++workers) {
    if (process::cancelled()) return make_error(ErrorKind::kCancelled, "interrupted");
    progress_line("service: a frontend and " + std::to_string(workers) + " worker(s)");
    auto set_up = start_set_up(racerigd, **pg, dir.path(), workers, options.jobs);
    if (!set_up.ok()) return set_up.error().wrap(std::to_string(workers) + " worker(s)");
    if (workers == 1) {  // the warm-up: the cache's template and snapshot, the worker's first job
      progress_line("service: a warm-up job (not counted)");
      auto warm = run_one_client(racerig, *set_up, options, dir.path() / "warm-up.log", "the warm-up job");
      if (!warm.ok()) return warm.error();
    }
    auto run = measure_batch(racerig, *set_up, dir.path(), options);
    if (!run.ok())
      return run.error().wrap(std::to_string(workers) + " worker(s), " + std::to_string(options.jobs) + " jobs");
    *out->add_runs() = *run;
    std::printf("service, %d worker(s): %d jobs in %.1f s, %.0f jobs/h, %d failed\n", workers, run->jobs(),
                run->wall_s(), jobs_per_hour(*run), run->failed());
    std::fflush(stdout);
    if (workers == 1 && options.latency_samples > 0) {
      if (Status s = measure_latency(racerig, *set_up, dir.path(), options, out); !s.ok())
        return s.error().wrap("1 worker");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<fs::path> racerigd_beside_racerig() {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return errno_error("readlink /proc/self/exe");
  self[n] = '\0';
  const fs::path racerigd = fs::path(self).parent_path() / "racerigd";
  if (::access(racerigd.c_str(), X_OK) != 0)
    return make_error(ErrorKind::kInput, "the service row runs the racerigd beside racerig, " + racerigd.string() +
                                             ", which is not there or not executable (build it: ninja -C build "
                                             "racerigd)");
  return racerigd;
}

Result<std::string> submitted_job_id(const std::string& client_output) {
  static constexpr std::string_view kPrefix = "racerig: job ";
  size_t at = 0;
  while ((at = client_output.find(kPrefix, at)) != std::string::npos) {
    const bool line_start = at == 0 || client_output[at - 1] == '\n';
    const size_t from = at + kPrefix.size();
    const size_t end = client_output.find(' ', from);
    at = from;
    if (!line_start || end == std::string::npos || end == from) continue;
    if (client_output.compare(end, 4, " on ") != 0) continue;
    const std::string id = client_output.substr(from, end - from);
    if (id.find_first_of("\n\t") != std::string::npos) continue;
    return id;
  }
  std::string start = client_output.substr(0, 300);
  for (char& c : start)
    if (c == '\n') c = ' ';
  return make_error(ErrorKind::kProtocol, "no \"racerig: job ID on SERVER\" line in the client's output: \"" + start +
                                              (client_output.size() > 300 ? "...\"" : "\""));
}

Status bench_service(const ServiceBenchOptions& options, pb::ServiceBench* out) {
  out->set_scenario(options.scenario);
  out->set_kernel(options.kernel);
  out->set_runs_per_job(1);
  Status s = measure(options, out);  // everything it started is stopped and removed when it returns
  if (!s.ok()) out->set_error(s.error().message);
  return s;
}

}  // namespace racerig::host
