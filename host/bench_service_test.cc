// The service row of `racerig bench`: its table (bench_service_table.h),
// the client output it reads (bench_service.h) and the racerigd processes
// it starts and stops (racerigd_process.h), with stand-in programs.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "host/bench_service.h"
#include "host/bench_service_table.h"
#include "host/racerigd_process.h"

namespace racerig::host {
namespace {

namespace fs = std::filesystem;

pb::ServiceBenchRun run_of(int workers, int jobs, double wall_s, int failed = 0, const std::string& failure = "") {
  pb::ServiceBenchRun r;
  r.set_workers(workers);
  r.set_jobs(jobs);
  r.set_wall_s(wall_s);
  r.set_failed(failed);
  r.set_first_failure(failure);
  return r;
}

pb::ServiceBench three_runs() {
  pb::ServiceBench s;
  s.set_scenario("xfs-dax-flip-vs-write-fault");
  s.set_kernel("buggy");
  s.set_store("PostgreSQL 15.14");
  s.set_runs_per_job(1);
  s.set_vcpus_per_job(2);
  *s.add_runs() = run_of(1, 12, 13.37);
  *s.add_runs() = run_of(2, 12, 9.55);
  *s.add_runs() = run_of(3, 12, 8.2);
  for (double v : {0.004, 0.012, 0.003, 0.005, 0.004}) s.add_queue_latency_s(v);
  return s;
}

TEST(BenchServiceTable, FiguresAreJobsOverWallAndTheMiddleValue) {
  EXPECT_DOUBLE_EQ(jobs_per_hour(run_of(1, 12, 36)), 1200);
  EXPECT_EQ(jobs_per_hour(run_of(1, 12, 0)), 0) << "no wall, no figure";
  EXPECT_EQ(median_of({}), 0);
  EXPECT_EQ(median_of({3, 1, 2}), 2);
  EXPECT_EQ(median_of({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(with_commas(3231.4), "3,231");
  EXPECT_EQ(with_commas(999.6), "1,000");
  EXPECT_EQ(with_commas(12), "12");
  EXPECT_EQ(with_commas(1234567), "1,234,567");
}

TEST(BenchServiceTable, NothingMeasuredIsNoSection) { EXPECT_EQ(render_service(pb::ServiceBench(), 2), ""); }

TEST(BenchServiceTable, RowsAreRatiosOfTheOneWorkerFigureAndTheLatencyIsAMedian) {
  const std::string t = render_service(three_runs(), 2);
  EXPECT_NE(t.find("### racerigd on a shared PostgreSQL queue"), std::string::npos) << t;
  EXPECT_NE(t.find("PostgreSQL 15.14"), std::string::npos) << t;
  EXPECT_NE(t.find("| worker processes | jobs | wall | jobs per hour | ratio to 1 worker | failed |"),
            std::string::npos)
      << t;
  // 12 jobs in 13.37 s = 3,231/h; 9.55 s = 4,524/h (1.40); 8.2 s = 5,268/h (1.63).
  EXPECT_NE(t.find("| 1 | 12 | 13.4 s | 3,231 | 1.00 | 0 |"), std::string::npos) << t;
  EXPECT_NE(t.find("| 2 | 12 | 9.6 s | 4,524 | 1.40 | 0 |"), std::string::npos) << t;
  EXPECT_NE(t.find("| 3 | 12 | 8.2 s | 5,268 | 1.63 | 0 |"), std::string::npos) << t;
  EXPECT_NE(t.find("Queue latency, submit to start: **median 0.004 s** of 5 (0.003–0.012 s)."), std::string::npos)
      << t;
  EXPECT_NE(t.find("12 `racerig reproduce --server` clients"), std::string::npos) << t;
  EXPECT_NE(t.find("scenario `xfs-dax-flip-vs-write-fault` on `buggy`"), std::string::npos) << t;
  EXPECT_EQ(t.find("stopped early"), std::string::npos) << t;
  EXPECT_EQ(t.find("error instead of a verdict"), std::string::npos) << t;
}

TEST(BenchServiceTable, TwoCoresCapTheRatiosAndTheTextSaysSo) {
  const std::string two = render_service(three_runs(), 2);
  EXPECT_NE(two.find("This machine has 2 cores and each job's VM has 2 vCPUs, which TCG keeps busy"),
            std::string::npos)
      << two;
  EXPECT_NE(two.find("1 worker process fills the cores"), std::string::npos) << two;
  EXPECT_NE(two.find("**The cores cap the ratios**"), std::string::npos) << two;
  const std::string eight = render_service(three_runs(), 8);
  EXPECT_NE(eight.find("4 worker processes fill the cores"), std::string::npos) << eight;
  EXPECT_EQ(eight.find("cap the ratios"), std::string::npos) << "3 workers fit in 8 cores: " << eight;
  pb::ServiceBench unknown = three_runs();
  unknown.clear_vcpus_per_job();
  EXPECT_NE(render_service(unknown, 2).find("is not known"), std::string::npos);
}

TEST(BenchServiceTable, FailuresAndAnEarlyStopAreSaidAndKeptOutOfTheTableCells) {
  pb::ServiceBench s = three_runs();
  *s.mutable_runs(1) = run_of(2, 12, 9.55, 2, "client 4 exited with status 3: racerig: | broken\nline");
  s.set_error("3 worker(s): worker 2 of 3 did not say \"racerigd: worker\" in time");
  const std::string t = render_service(s, 2);
  EXPECT_NE(t.find("| 2 | 12 | 9.6 s | 4,524 | 1.40 | 2 |"), std::string::npos) << t;
  EXPECT_NE(t.find("2 job(s) ended with an error instead of a verdict"), std::string::npos) << t;
  EXPECT_NE(t.find("- 2 worker(s): client 4 exited with status 3: racerig:   broken line"), std::string::npos) << t;
  EXPECT_NE(t.find("The measurement stopped early: 3 worker(s): worker 2 of 3"), std::string::npos) << t;
}

TEST(BenchServiceTable, WithoutAOneWorkerFigureThereAreNoRatios) {
  pb::ServiceBench s = three_runs();
  s.mutable_runs(0)->set_wall_s(0);
  const std::string t = render_service(s, 2);
  EXPECT_NE(t.find("| 1 | 12 | 0.0 s | — | — | 0 |"), std::string::npos) << t;
  EXPECT_NE(t.find("| 2 | 12 | 9.6 s | 4,524 | — | 0 |"), std::string::npos) << t;
}

TEST(BenchServiceTable, AStopBeforeAnyFigureIsStillSaid) {
  pb::ServiceBench s;
  s.set_error("PostgreSQL: /usr/lib/postgresql/15/bin/initdb is missing");
  const std::string t = render_service(s, 2);
  EXPECT_NE(t.find("The measurement stopped early: PostgreSQL: /usr/lib/postgresql/15/bin/initdb is missing"),
            std::string::npos)
      << t;
}

TEST(SubmittedJobId, IsReadFromTheClientsJobLine) {
  const std::string out =
      "racerig: kernel buggy\n"
      "racerig: job 17 on unix:/tmp/x/frontend-1.sock (racerig watch 17)\n"
      "run 1: REPRODUCED\n";
  auto id = submitted_job_id(out);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(*id, "17");
  auto first = submitted_job_id("racerig: job 3 on unix:/s (racerig watch 3)");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "3");
}

TEST(SubmittedJobId, OtherLinesAreNotTakenForIt) {
  for (const std::string& out : {std::string(""), std::string("racerig: job queued\n"),
                                std::string("xracerig: job 4 on unix:/s\n"), std::string("racerig: job  on unix:/s\n"),
                                std::string("racerig: job 5\n"), std::string("the racerig: job 6 on unix:/s\n")}) {
    auto id = submitted_job_id(out);
    ASSERT_FALSE(id.ok()) << "\"" << out << "\" gave " << *id;
    EXPECT_EQ(id.error().kind, ErrorKind::kProtocol);
    EXPECT_NE(id.error().message.find("racerig: job ID on SERVER"), std::string::npos) << id.error().message;
  }
  auto later = submitted_job_id("racerig: job queued\nracerig: job 9 on unix:/s (racerig watch 9)\n");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(*later, "9");
}

TEST(SubmittedJobId, ALongOutputIsQuotedShort) {
  auto id = submitted_job_id(std::string(5000, 'x'));
  ASSERT_FALSE(id.ok());
  EXPECT_LT(id.error().message.size(), 500u) << id.error().message;
}

// Stand-in daemons: /bin/sh scripts that print a start-up line, or not.
class RacerigdProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("racerig-racerigd-process-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  Result<std::unique_ptr<RacerigdProcess>> start(const std::string& script, std::chrono::milliseconds limit) {
    return RacerigdProcess::start("the stand-in", "/bin/sh", {"-c", script}, dir_ / "log", "racerigd: serving",
                                  Deadline::after(limit));
  }
  fs::path dir_;
};

TEST_F(RacerigdProcessTest, IsReadyAtItsLineAndGoneAfterStop) {
  auto p = start("echo 'racerigd: serving on unix:/x'; exec sleep 600", std::chrono::seconds(60));
  ASSERT_TRUE(p.ok()) << p.error().message;
  const pid_t pid = (*p)->pid();
  EXPECT_EQ(::kill(pid, 0), 0) << "running";
  (*p)->stop();
  EXPECT_NE(::kill(pid, 0), 0) << "stopped and reaped";
  EXPECT_NE((*p)->describe_exit().find("signal 15"), std::string::npos) << (*p)->describe_exit();
}

TEST_F(RacerigdProcessTest, ADaemonThatIgnoresSigtermIsKilledAfterTheGrace) {
  auto p = start("trap '' TERM; echo 'racerigd: serving'; while :; do sleep 1; done", std::chrono::seconds(60));
  ASSERT_TRUE(p.ok()) << p.error().message;
  const pid_t pid = (*p)->pid();
  (*p)->stop(std::chrono::milliseconds(200));
  EXPECT_NE(::kill(pid, 0), 0);
  EXPECT_NE((*p)->describe_exit().find("signal 9"), std::string::npos) << (*p)->describe_exit();
}

TEST_F(RacerigdProcessTest, DyingAfterReadyIsSeenAndQuotesItsLog) {
  auto p = start("echo 'racerigd: serving'; read never < /dev/null; echo 'racerigd: lost the store' >&2; exit 4",
                 std::chrono::seconds(60));
  ASSERT_TRUE(p.ok()) << p.error().message;
  Status s = Status::Ok();
  for (int i = 0; i < 600 && s.ok(); ++i) {
    s = (*p)->check_running();
    if (s.ok()) ::usleep(50 * 1000);
  }
  ASSERT_FALSE(s.ok()) << "it exited";
  EXPECT_EQ(s.error().kind, ErrorKind::kIo);
  EXPECT_NE(s.error().message.find("the stand-in exited with status 4 while the bench ran"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("racerigd: lost the store"), std::string::npos) << s.error().message;
}

TEST_F(RacerigdProcessTest, ExitingBeforeReadyIsAnErrorQuotingItsLog) {
  auto p = start("echo 'racerigd: cannot open the store: connection refused' >&2; exit 2", std::chrono::seconds(60));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().kind, ErrorKind::kIo);
  EXPECT_NE(p.error().message.find("the stand-in"), std::string::npos) << p.error().message;
  EXPECT_NE(p.error().message.find("exited with status 2 before it was ready"), std::string::npos) << p.error().message;
  EXPECT_NE(p.error().message.find("cannot open the store: connection refused"), std::string::npos)
      << p.error().message;
}

TEST_F(RacerigdProcessTest, NeverReadyIsATimeoutAndNothingIsLeft) {
  const fs::path pidfile = dir_ / "pid";
  auto p = start("echo $$ > " + pidfile.string() + "; echo starting; exec sleep 600", std::chrono::milliseconds(1500));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().kind, ErrorKind::kTimeout);
  EXPECT_NE(p.error().message.find("did not say \"racerigd: serving\" in time"), std::string::npos)
      << p.error().message;
  EXPECT_NE(p.error().message.find("starting"), std::string::npos) << "the log's tail: " << p.error().message;
  pid_t pid = 0;
  std::ifstream(pidfile) >> pid;
  ASSERT_GT(pid, 0);
  EXPECT_NE(::kill(pid, 0), 0) << "the stand-in was stopped";
}

TEST_F(RacerigdProcessTest, AProgramThatCannotRunIsAnInputError) {
  auto p = RacerigdProcess::start("the stand-in", dir_ / "no-such-racerigd", {}, dir_ / "log", "racerigd: serving",
                                  Deadline::after(std::chrono::seconds(10)));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().kind, ErrorKind::kInput) << p.error().message;
  EXPECT_NE(p.error().message.find("no-such-racerigd"), std::string::npos) << p.error().message;
}

TEST(LogTail, KeepsTheEndFromALineStart) {
  const fs::path p = fs::temp_directory_path() / ("racerig-log-tail-" + std::to_string(::getpid()));
  std::string text;
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i) + "\n";
  std::ofstream(p) << text;
  const std::string tail = log_tail(p, 50);
  fs::remove(p);
  EXPECT_EQ(tail.rfind("...line ", 0), 0u) << tail;
  EXPECT_NE(tail.find("line 199"), std::string::npos) << tail;
  EXPECT_LE(tail.size(), 53u) << tail;
  EXPECT_EQ(log_tail(p).rfind("(no log: ", 0), 0u);
}

}  // namespace
}  // namespace racerig::host
