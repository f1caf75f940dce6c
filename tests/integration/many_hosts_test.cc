// Issue 25, frontends and workers on one PostgreSQL queue: a racerigd
// frontend that runs nothing (--workers 0) and racerigd workers that serve
// no API (--worker), all on a PostgreSQL server this test makes (initdb and
// pg_ctl as a non-root user, test_postgres.h). A stress job (the cheapest
// job kind: one VM restored from its snapshot, fsx for 20 s; on the fixed
// kernel, which does not oops, so the run is still going when its worker
// dies) submitted to the frontend runs
// on a worker; the worker is killed with -9 mid-job; once its lease expires
// another worker runs the job again and finishes it, once. The client
// follows the job through the frontend the whole time (its events come from
// the workers through the database).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "rig/service/test_postgres.h"
#include "support.h"

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers

namespace fs = std::filesystem;

constexpr const char* kToken = "0123456789abcdef-many-hosts";

// The processes below `root` (its children, theirs, ...), with their
// command names, from /proc.
std::map<pid_t, std::string> descendants(pid_t root) {
  std::map<pid_t, pid_t> parent;
  std::map<pid_t, std::string> name;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string dir = entry.path().filename().string();
    if (dir.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read_text(entry.path() / "stat");
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    if (!(rest >> state >> ppid)) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(dir));
    parent[pid] = ppid;
    name[pid] = stat.substr(open + 1, close - open - 1);
  }
  std::map<pid_t, std::string> out;
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, ppid] : parent)
      if ((ppid == root || out.count(ppid) > 0) && out.emplace(pid, name[pid]).second) grew = true;
  }
  return out;
}

// Whether one of `procs` (named by descendants()) is named `what`.
bool has_process(const std::map<pid_t, std::string>& procs, const std::string& what) {
  for (const auto& [pid, name] : procs)
    if (name.rfind(what, 0) == 0) return true;
  return false;
}

// Waits (up to 300 s) until a QEMU runs below `root`; the processes below
// it then (empty when none came).
std::map<pid_t, std::string> wait_for_qemu_below(pid_t root) {
  std::map<pid_t, std::string> tree;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (!has_process(tree = descendants(root), "qemu-system") && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return has_process(tree, "qemu-system") ? tree : std::map<pid_t, std::string>();
}

// Waits up to `limit` until none of `procs` is alive; those still alive.
std::map<pid_t, std::string> wait_gone(std::map<pid_t, std::string> procs, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    for (auto it = procs.begin(); it != procs.end();)
      it = ::kill(it->first, 0) != 0 && errno == ESRCH ? procs.erase(it) : std::next(it);
    if (procs.empty() || std::chrono::steady_clock::now() >= end) return procs;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// One racerigd process (a frontend or a worker) with its own state
// directory and log, started with `args`, ready once its log says `ready`.
class Process {
 public:
  Process(fs::path dir, std::vector<std::string> args) : dir_(std::move(dir)), args_(std::move(args)) {
    fs::create_directories(dir_);
  }
  ~Process() { kill9(); }
  pid_t pid() const { return pid_; }
  bool start(const std::string& ready) {
    const size_t from = log().size();
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open((dir_ / "racerigd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::setenv("RACERIG_ROOT", RACERIG_SOURCE_DIR, 1);
      std::vector<std::string> argv = {RACERIGD_BIN, "--state", (dir_ / "state").string()};
      argv.insert(argv.end(), args_.begin(), args_.end());
      std::vector<char*> raw;
      for (auto& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
    return wait_for_in_dir(
        dir_, [&] { return log().find(ready, from) != std::string::npos; }, std::chrono::seconds(60), pid_);
  }
  void kill9() { kill_child(&pid_); }
  // SIGTERM; true when it exited within 60 s (else killed).
  bool stop() { return stop_child(&pid_, std::chrono::seconds(60)); }
  std::string log() const { return read_text(dir_ / "racerigd.log"); }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
};

class ManyHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("racerig-many-hosts-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto pg = racerig::service::TestPostgres::start();
    ASSERT_TRUE(pg.ok()) << pg.error().message;
    pg_ = std::move(*pg);
    ASSERT_TRUE(pg_->create_database("racerig").ok());
    std::ofstream(dir_ / "tokens") << "ci " << kToken << "\n";
    fs::permissions(dir_ / "tokens", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    std::ofstream(dir_ / "token") << kToken << "\n";
  }
  void TearDown() override {
    processes_.clear();  // killed before their database goes
    pg_.reset();
    fs::remove_all(dir_);
  }
  Process& frontend() {
    processes_.push_back(std::make_unique<Process>(
        dir_ / "frontend", std::vector<std::string>{"--store", pg_->dsn("racerig"), "--workers", "0", "--socket",
                                                    socket(), "--tokens", (dir_ / "tokens").string()}));
    return *processes_.back();
  }
  // A worker with a short lease: a dead one's job is queued again seconds
  // after its last renewal.
  Process& worker(const std::string& name) {
    processes_.push_back(std::make_unique<Process>(
        dir_ / name, std::vector<std::string>{"--store", pg_->dsn("racerig"), "--worker", "--workers", "1",
                                              "--lease-s", "3"}));
    return *processes_.back();
  }
  std::string socket() const { return (dir_ / "frontend.sock").string(); }
  fs::path client_out() const { return dir_ / "client.out"; }
  // Starts `racerig stress --kernel fixed --runs 1 ARGS` through the
  // frontend in the background (its output in client_out()), and waits
  // until the job's `note` reached it and a QEMU runs below `worker`. The
  // client's pid, and in `*tree` the processes below the worker then; -1
  // (and a failure naming why) when that does not come.
  pid_t follow_until_running(const std::string& args, const std::string& note, const Process& worker,
                             std::map<pid_t, std::string>* tree) {
    pid_t client = start_shell_to(cli("stress", "--kernel fixed --runs 1 " + args), client_out());
    const bool noted = wait_for_in_dir(
        dir_, [&] { return read_text(client_out()).find(note) != std::string::npos; }, std::chrono::seconds(300),
        client);
    if (noted) *tree = wait_for_qemu_below(worker.pid());
    if (!noted || tree->empty()) {
      ADD_FAILURE() << (noted ? "no QEMU below the worker: " : "the job's note never came: ")
                    << read_text(client_out()) << worker.log();
      kill_child(&client);
      return -1;
    }
    return client;
  }
  // racerig CMD --server unix:SOCKET ... through the frontend.
  std::string cli(const std::string& cmd, const std::string& args) const {
    return "RACERIG_ROOT='" + std::string(RACERIG_SOURCE_DIR) + "' " + RACERIG_BIN + " " + cmd + " --server unix:" +
           socket() + " --token-file " + (dir_ / "token").string() + " " + args;
  }

  fs::path dir_;
  std::unique_ptr<racerig::service::TestPostgres> pg_;
  std::vector<std::unique_ptr<Process>> processes_;
};

TEST_F(ManyHosts, AWorkerKilledMidJobLosesItsLeaseAndAnotherFinishesTheJobOnce) {
  Process& front = frontend();
  ASSERT_TRUE(front.start("racerigd: serving")) << front.log();
  EXPECT_NE(front.log().find("0 worker(s)"), std::string::npos) << front.log();
  EXPECT_EQ(front.log().find(racerig::service::TestPostgres::kPassword), std::string::npos)
      << "the DSN's password is never shown: " << front.log();
  Process& first = worker("worker-a");
  ASSERT_TRUE(first.start("racerigd: worker")) << first.log();

  // Mid-job: the run's first note reached the client (from worker A,
  // through the database and the frontend), and its VM is up.
  std::map<pid_t, std::string> tree;
  pid_t client = follow_until_running("--duration 20 --seed 11 --request-id many-hosts", "run 1: fsx seed 11", first,
                                      &tree);
  ASSERT_GT(client, 0);
  const fs::path out = client_out();
  first.kill9();
  const auto left = wait_gone(tree, std::chrono::seconds(60));
  for (const auto& [pid, name] : left) ADD_FAILURE() << "worker A's " << name << " (pid " << pid << ") outlived it";

  Process& second = worker("worker-b");
  ASSERT_TRUE(second.start("racerigd: worker")) << second.log();
  int status = 0;
  const bool done = wait_child_exit(client, std::chrono::minutes(10), &status);
  if (!done) kill_child(&client);
  const std::string text = read_text(out);
  ASSERT_TRUE(done) << text << second.log();
  EXPECT_TRUE(text.find("exit 0") != std::string::npos || text.find("exit 1") != std::string::npos)
      << "hit or missed the oops, no error: " << text << second.log();
  EXPECT_NE(text.find("stress on fixed: "), std::string::npos) << "the run's summary: " << text;
  EXPECT_NE(second.log().find("lease expired"), std::string::npos) << "worker B requeued A's job: " << second.log();
  if (std::getenv("RACERIG_TEST_VERBOSE") != nullptr)
    std::printf("client:\n%s\nworker A:\n%s\nworker B:\n%s\nfrontend:\n%s\n", text.c_str(), first.log().c_str(),
                second.log().c_str(), front.log().c_str());

  Ran job = run_shell(cli("job", "1"));
  EXPECT_NE(job.output.find("SUCCEEDED"), std::string::npos) << job.output;
  EXPECT_NE(job.output.find("attempt 2"), std::string::npos) << job.output;
  Ran watch = run_shell(cli("watch", "1"));
  const size_t exit_at = text.rfind("exit ");
  const int client_exit = exit_at == std::string::npos ? -1 : std::atoi(text.c_str() + exit_at + 5);
  EXPECT_EQ(watch.exit_code, client_exit) << "watch ends as the job did: " << watch.output;
  size_t finished = 0, at = 0;
  while ((at = watch.output.find("finished:", at)) != std::string::npos) ++finished, ++at;
  EXPECT_EQ(finished, 1u) << "done once: " << watch.output;
  EXPECT_NE(watch.output.find("requeued for attempt 2"), std::string::npos) << watch.output;
  Ran jobs = run_shell(cli("jobs", ""));
  EXPECT_EQ(jobs.output.find("RUNNING"), std::string::npos) << "nothing left running: " << jobs.output;
  EXPECT_TRUE(second.stop()) << second.log();
  EXPECT_TRUE(front.stop()) << front.log();
}

// A cancel sent to the frontend reaches the run on the worker (the worker
// learns of it from the database, at its next lease renewal, which the
// notification brings forward): the job ends CANCELLED, cancelled by its
// submitter, long before its 120 s of fsx are over.
TEST_F(ManyHosts, ACancelThroughTheFrontendStopsTheRunOnTheWorker) {
  Process& front = frontend();
  ASSERT_TRUE(front.start("racerigd: serving")) << front.log();
  Process& w = worker("worker");
  ASSERT_TRUE(w.start("racerigd: worker")) << w.log();
  std::map<pid_t, std::string> tree;
  pid_t client = follow_until_running("--duration 120 --seed 5", "run 1: fsx seed 5", w, &tree);
  ASSERT_GT(client, 0);
  const fs::path out = client_out();
  Ran cancel = run_shell(cli("cancel", "1"));
  EXPECT_EQ(cancel.exit_code, 0) << cancel.output;
  int status = 0;
  const bool done = wait_child_exit(client, std::chrono::minutes(5), &status);
  if (!done) kill_child(&client);
  const std::string text = read_text(out);
  ASSERT_TRUE(done) << text << w.log();
  Ran job = run_shell(cli("job", "1"));
  EXPECT_NE(job.output.find("CANCELLED"), std::string::npos) << job.output << text << w.log();
  EXPECT_NE(job.output.find("cancelled by ci"), std::string::npos) << job.output;
  EXPECT_EQ(w.log().find("lost its lease"), std::string::npos) << w.log();
  const auto left = wait_gone(tree, std::chrono::seconds(60));
  for (const auto& [pid, name] : left) ADD_FAILURE() << "the cancelled run's " << name << " (pid " << pid << ") is left";
  EXPECT_TRUE(w.stop()) << w.log();
  EXPECT_TRUE(front.stop()) << front.log();
}

}  // namespace
