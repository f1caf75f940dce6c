// The explore job without a kernel: its input checks (a scenario that does
// not load or has no explore {} block is an input error before anything
// builds, here and through racerigd's runner), the per-schedule progress
// line, and its exit codes and end.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include "rig/jobs/explore_job.h"
#include "rig/jobs/job_kind.h"

namespace racerig::jobs {
namespace {

namespace fs = std::filesystem;

// A valid scenario without an explore {} block.
constexpr const char* kNoWindow = R"(name: "no-window"
workload {
  actors { name: "a" cpu: 0 ops { fsync { path: "/mnt/x" } } }
  actors { name: "b" cpu: 1 ops { fsync { path: "/mnt/x" } } }
}
schedule { hold { actor: "a" at { symbol: "f" } } }
schedule { run { actor: "b" until { symbol: "g" } } }
schedule { release {} }
expect { oops { function: "h" } }
)";

// Records every note and build stage.
class Recorder : public JobObserver {
 public:
  void stage(const std::string& variant, const std::string& what) override { lines.push_back(variant + ": " + what); }
  void note(const std::string& line) override { lines.push_back(line); }
  std::vector<std::string> lines;
};

class ExploreJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jobs-explore-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "scenarios");
    env_.repo_root = dir_;  // no kernels/: a job that got past its input would fail on the kernel
    env_.cache_root = dir_ / "cache";
    env_.work_dir = dir_ / "work";
    env_.racerig_version = "9.9.9";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  JobEnv env_;
};

pb::ExploredSchedule schedule(int index, pb::Verdict verdict, bool serialized = false) {
  pb::ExploredSchedule s;
  s.set_index(index);
  s.set_held("a");
  s.set_runner("b");
  s.set_verdict(verdict);
  s.set_serialized(serialized);
  auto* p = s.mutable_point();
  p->set_actor("a");
  p->set_function("__xfs_filemap_fault");
  p->set_file("fs/xfs/xfs_file.c");
  p->set_line(1350);
  p->set_visit(2);
  return s;
}

TEST_F(ExploreJobTest, AScenarioWithoutAWindowIsAnInputErrorBeforeAnyKernel) {
  std::ofstream(dir_ / "scenarios" / "plain.textproto") << kNoWindow;
  ExploreRequest request;
  request.scenario = "plain";
  request.kernel = "buggy";
  Recorder observer;
  auto out = run_explore(env_, request, observer);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().kind, ErrorKind::kInput);
  EXPECT_EQ(out.error().message, "scenario: no-window has no explore {} block to explore");
  EXPECT_TRUE(observer.lines.empty()) << "nothing built or loaded: " << observer.lines.front();

  auto end = ExploreKind::run(env_, request, observer, nullptr);
  EXPECT_TRUE(end.failed);
  EXPECT_EQ(end.exit_code, 2);
  EXPECT_EQ(end.report.error(), "scenario: no-window has no explore {} block to explore");
  EXPECT_EQ(end.report.scenario(), "plain") << "what was asked";
  EXPECT_EQ(end.report.kernel_variant(), "buggy");
  EXPECT_EQ(end.report.racerig_version(), "9.9.9");
}

TEST_F(ExploreJobTest, AScenarioThatDoesNotLoadIsAnInputErrorNamingIt) {
  ExploreRequest request;
  request.scenario = "no-such-scenario";
  request.kernel = "buggy";
  Recorder observer;
  auto out = run_explore(env_, request, observer);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().kind, ErrorKind::kInput);
  EXPECT_EQ(out.error().message.rfind("scenario: ", 0), 0u) << out.error().message;
  EXPECT_NE(out.error().message.find("no-such-scenario"), std::string::npos) << out.error().message;
}

TEST_F(ExploreJobTest, RacerigdRecordsAnInlineScenarioWithoutAWindowAsALocalRunEnds) {
  pb::Job job;
  job.set_kind(ExploreKind::kKind);
  ExploreKind::mutable_wire(job)->mutable_scenario()->set_textproto(kNoWindow);
  ExploreKind::mutable_wire(job)->set_kernel("buggy");
  fs::create_directories(dir_ / "job");
  Recorder observer;
  pb::JobState state = run_submitted<ExploreKind>(env_, run::RunOptions{}, dir_ / "job", job, observer, nullptr);
  EXPECT_EQ(state, pb::FAILED);
  EXPECT_EQ(job.exit_code(), 2);
  EXPECT_EQ(job.error(), "scenario: no-window has no explore {} block to explore");
  ASSERT_TRUE(ExploreKind::has_report(job)) << "the error report, as --json writes it locally";
  EXPECT_EQ(job.explore_report().error(), job.error());

  job.set_state(state);  // as the worker pool records it
  auto end = end_of<ExploreKind>(job, env_, ExploreRequest{});
  EXPECT_TRUE(end.failed);
  EXPECT_EQ(end.exit_code, 2) << "the client exits as a local run would";
  EXPECT_EQ(end.report.error(), job.error());
}

TEST(ExploreJob, AScheduleLineNamesThePointTheActorsAndTheVerdict) {
  EXPECT_EQ(schedule_line(schedule(3, pb::REPRODUCED), 40),
            "schedule 3 of 40: a at __xfs_filemap_fault fs/xfs/xfs_file.c:1350 #2 while b runs: REPRODUCED");
  EXPECT_EQ(schedule_line(schedule(4, pb::NOT_REPRODUCED, true), 40),
            "schedule 4 of 40: a at __xfs_filemap_fault fs/xfs/xfs_file.c:1350 #2 while b runs: NOT_REPRODUCED "
            "(serialized)");
}

TEST(ExploreJob, ExitsZeroWhenASchedulesReproducedOneWhenNone) {
  ExploreOutcome out;
  EXPECT_EQ(explore_exit_code(out), 1) << "no schedule: nothing reproduced";
  *out.report.add_schedules() = schedule(1, pb::NOT_REPRODUCED);
  *out.report.add_schedules() = schedule(2, pb::SCHEDULE_NOT_REACHED);
  EXPECT_EQ(explore_exit_code(out), 1);
  *out.report.add_schedules() = schedule(3, pb::REPRODUCED);
  EXPECT_EQ(explore_exit_code(out), 0);
}

TEST(ExploreJob, ExitsThreeWhenInterruptedFailedOrASchedulesInfrastructureFailed) {
  ExploreOutcome out;
  *out.report.add_schedules() = schedule(1, pb::REPRODUCED);
  out.cancelled = true;
  EXPECT_EQ(explore_exit_code(out), 3);
  out.cancelled = false;
  *out.report.add_schedules() = schedule(2, pb::INFRA_ERROR);
  EXPECT_EQ(explore_exit_code(out), 3) << "the map is incomplete";
  out.report.mutable_schedules()->RemoveLast();
  out.report.set_error("trace: the window was never reached");
  EXPECT_EQ(explore_exit_code(out), 3);
}

TEST(ExploreJob, AnEndFailsOnlyWhenNoScheduleRan) {
  ExploreOutcome traced_not;
  traced_not.report.set_error("trace: boom");
  auto end = explore_end(traced_not);
  EXPECT_TRUE(end.failed);
  EXPECT_EQ(end.exit_code, 3);
  EXPECT_EQ(end.error, "trace: boom");

  ExploreOutcome partial;
  *partial.report.add_schedules() = schedule(1, pb::REPRODUCED);
  partial.cancelled = true;
  end = explore_end(partial);
  EXPECT_FALSE(end.failed) << "a map was made";
  EXPECT_TRUE(end.cancelled);
  EXPECT_EQ(end.exit_code, 3);
  EXPECT_EQ(end.report.schedules_size(), 1);
}

}  // namespace
}  // namespace racerig::jobs
