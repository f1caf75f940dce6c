// The one conversion of each job kind between its own request and the wire
// request racerigd takes (both ways), and the shared steps of job_kind.h
// that record a job's end and read it back. No kernel, no QEMU.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "rig/jobs/explore_job.h"
#include "rig/jobs/job_kind.h"
#include "rig/jobs/reproduce_job.h"
#include "rig/jobs/stress_job.h"
#include "rig/jobs/validate_job.h"
#include "rig/jobs/wire.h"

namespace racerig::jobs {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPatch =
    "--- a/fs/xfs/xfs_file.c\n+++ "
    "b/fs/xfs/xfs_file.c\n@@ -1,1 +1,1 @@\n-a\n+b\n";
constexpr const char* kScenario = "name: \"inline\"\n";

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class WireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jobs-wire-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "client");
    fs::create_directories(dir_ / "server");
    std::ofstream(dir_ / "client" / "mine.textproto") << kScenario;
    fs::create_directories(dir_ / "client" / "a");
    fs::create_directories(dir_ / "client" / "b");
    std::ofstream(dir_ / "client" / "a" / "fix.patch") << kPatch;
    std::ofstream(dir_ / "client" / "b" / "fix.patch") << kPatch << "+c\n";
    options_.cpus = 3;
    options_.work_dir = dir_ / "work";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  run::RunOptions options_;
};

TEST_F(WireTest, AReproduceRequestGoesToTheServerAndBackWithItsScenarioInline) {
  ReproduceRequest local;
  local.scenario = (dir_ / "client" / "mine.textproto").string();
  local.kernel = "buggy";
  local.runs = 4;
  local.cold = true;
  local.options.kvm = true;  // a local run option: not sent
  auto wire = ReproduceKind::to_wire(local, "id-1");
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  EXPECT_EQ(wire->request_id(), "id-1");
  EXPECT_EQ(wire->scenario().textproto(), kScenario) << "a local file travels as its text";
  EXPECT_EQ(wire->kernel(), "buggy");
  EXPECT_EQ(wire->runs(), 4);
  EXPECT_TRUE(wire->cold());

  auto back = ReproduceKind::from_wire(*wire, dir_ / "server", options_);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->scenario, (dir_ / "server" / "inline-0.textproto").string());
  EXPECT_EQ(read(back->scenario), kScenario);
  EXPECT_EQ(back->kernel, "buggy");
  EXPECT_EQ(back->runs, 4);
  EXPECT_TRUE(back->cold);
  EXPECT_EQ(back->options.cpus, 3) << "the server's options, not the client's";
  EXPECT_FALSE(back->options.kvm);
}

TEST_F(WireTest, AScenarioNameStaysAName) {
  ReproduceRequest local;
  local.scenario = "xfs-dax-flip-vs-write-fault";
  auto wire = ReproduceKind::to_wire(local, "");
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(wire->scenario().name(), "xfs-dax-flip-vs-write-fault");
  auto back = ReproduceKind::from_wire(*wire, dir_ / "server", options_);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->scenario, "xfs-dax-flip-vs-write-fault");
  EXPECT_TRUE(fs::is_empty(dir_ / "server")) << "nothing written for a name";
}

TEST_F(WireTest, AValidateRequestCarriesItsPatchesAndKeepsTwoOfOneNameApart) {
  ValidateRequest local;
  local.patches = {dir_ / "client" / "a" / "fix.patch", dir_ / "client" / "b" / "fix.patch"};
  local.base = "buggy";
  local.scenarios = {"all"};
  local.runs = 2;
  auto wire = ValidateKind::to_wire(local, "id-2");
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  ASSERT_EQ(wire->patches_size(), 2);
  EXPECT_EQ(wire->patches(0).name(), "fix.patch") << "the file's name, not its path";
  EXPECT_EQ(wire->patches(0).content(), kPatch);
  ASSERT_EQ(wire->scenarios_size(), 1) << "\"all\" travels as a name (empty means the base's own scenarios)";
  EXPECT_EQ(wire->scenarios(0).name(), "all");

  wire->clear_base();
  auto back = ValidateKind::from_wire(*wire, dir_ / "server", options_);
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->patches.size(), 2u);
  EXPECT_NE(back->patches[0], back->patches[1]);
  EXPECT_EQ(back->patches[0].filename(), "fix.patch") << "the stem names the patched variant";
  EXPECT_EQ(read(back->patches[0]), kPatch);
  EXPECT_EQ(read(back->patches[1]), std::string(kPatch) + "+c\n");
  EXPECT_EQ(back->patch_names, (std::vector<std::string>{"fix.patch", "fix.patch"}));
  EXPECT_EQ(back->base, "buggy") << "an empty base is buggy";
  EXPECT_EQ(back->runs, 2);
  EXPECT_EQ(back->scenarios, (std::vector<std::string>{"all"}));
}

TEST_F(WireTest, AnUnreadablePatchIsAnErrorNamingIt) {
  ValidateRequest local;
  local.patches = {dir_ / "client" / "missing.patch"};
  auto wire = ValidateKind::to_wire(local, "");
  ASSERT_FALSE(wire.ok());
  EXPECT_NE(wire.error().message.find("missing.patch"), std::string::npos) << wire.error().message;
}

TEST_F(WireTest, AValidateRequestKeepsWhetherItExplores) {
  ValidateRequest local;
  EXPECT_TRUE(local.explore) << "a scenario's window is explored unless told not to";
  auto wire = ValidateKind::to_wire(local, "");
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  EXPECT_FALSE(wire->no_explore());
  auto back = ValidateKind::from_wire(*wire, dir_ / "server", options_);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->explore);
  local.explore = false;
  wire = ValidateKind::to_wire(local, "");
  ASSERT_TRUE(wire.ok());
  EXPECT_TRUE(wire->no_explore());
  back = ValidateKind::from_wire(*wire, dir_ / "server", options_);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->explore);
}

TEST_F(WireTest, AStressRequestKeepsItsDurationSeedAndScenario) {
  StressRequest local;
  local.kernel = "buggy";
  local.runs = 3;
  local.duration_s = 5;
  local.seed = 42;
  auto wire = StressKind::to_wire(local, "id-3");
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  EXPECT_EQ(wire->scenario().name(), "stress-fsx-vs-dax-flip") << "the default stress scenario, by name";
  EXPECT_EQ(wire->duration_s(), 5);
  EXPECT_EQ(wire->seed(), 42u);
  auto back = StressKind::from_wire(*wire, dir_ / "server", options_);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->scenario, "stress-fsx-vs-dax-flip");
  EXPECT_EQ(back->kernel, "buggy");
  EXPECT_EQ(back->runs, 3);
  EXPECT_EQ(back->duration_s, 5);
  EXPECT_EQ(back->seed, 42u);
  EXPECT_FALSE(back->cold);
}

TEST_F(WireTest, AnExploreRequestGoesToTheServerAndBackWithItsScenarioInline) {
  ExploreRequest local;
  local.scenario = (dir_ / "client" / "mine.textproto").string();
  local.kernel = "fixed";
  local.max_schedules = 7;
  local.options.kvm = true;  // a local run option: not sent
  auto wire = ExploreKind::to_wire(local, "id-4");
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  EXPECT_EQ(wire->request_id(), "id-4");
  EXPECT_EQ(wire->scenario().textproto(), kScenario) << "a local file travels as its text";
  EXPECT_EQ(wire->kernel(), "fixed");
  EXPECT_EQ(wire->max_schedules(), 7);

  pb::SubmitRequest submit;
  *ExploreKind::mutable_wire(submit) = *wire;
  EXPECT_EQ(submit.request_case(), pb::SubmitRequest::kExplore);
  pb::Job job;
  *ExploreKind::mutable_wire(job) = *wire;
  EXPECT_EQ(job.request_case(), pb::Job::kExplore);
  EXPECT_EQ(ExploreKind::wire(job).max_schedules(), 7);

  auto back = ExploreKind::from_wire(ExploreKind::wire(job), dir_ / "server", options_);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->scenario, (dir_ / "server" / "inline-0.textproto").string());
  EXPECT_EQ(read(back->scenario), kScenario);
  EXPECT_EQ(back->kernel, "fixed");
  EXPECT_EQ(back->max_schedules, 7);
  EXPECT_EQ(back->options.cpus, 3) << "the server's options, not the client's";
  EXPECT_FALSE(back->options.kvm);
}

TEST_F(WireTest, AnExploreRequestOfEveryScheduleByNameStaysSo) {
  ExploreRequest local;
  local.scenario = "xfs-dax-flip-vs-write-fault";
  local.kernel = "buggy";
  auto wire = ExploreKind::to_wire(local, "");
  ASSERT_TRUE(wire.ok()) << wire.error().message;
  EXPECT_EQ(wire->scenario().name(), "xfs-dax-flip-vs-write-fault");
  EXPECT_EQ(wire->max_schedules(), 0) << "0: every schedule";
  auto back = ExploreKind::from_wire(*wire, dir_ / "server", options_);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->scenario, "xfs-dax-flip-vs-write-fault");
  EXPECT_EQ(back->max_schedules, 0);
  EXPECT_TRUE(fs::is_empty(dir_ / "server")) << "nothing written for a name";
}

TEST_F(WireTest, AnExploreJobsEndAsRecordedIsItsReport) {
  JobEnv env;
  ExploreRequest request;
  request.scenario = "s";
  request.kernel = "buggy";
  pb::Job job;
  job.set_state(pb::SUCCEEDED);
  job.set_exit_code(0);
  ExploreKind::mutable_report(job)->add_schedules()->set_verdict(pb::REPRODUCED);
  auto end = end_of<ExploreKind>(job, env, request);
  EXPECT_FALSE(end.failed);
  EXPECT_EQ(end.exit_code, 0);
  ASSERT_EQ(end.report.schedules_size(), 1);

  pb::Job cancelled;  // before it started: no report
  cancelled.set_state(pb::CANCELLED);
  cancelled.set_exit_code(3);
  cancelled.set_error("cancelled by ci before it started");
  end = end_of<ExploreKind>(cancelled, env, request);
  EXPECT_TRUE(end.failed);
  EXPECT_EQ(end.exit_code, 3);
  EXPECT_EQ(end.report.kernel_variant(), "buggy") << "the report made from the request";
  EXPECT_EQ(end.report.error(), "cancelled by ci before it started");
}

TEST_F(WireTest, AJobWhoseRequestCannotBeWrittenFailsWithExitThree) {
  pb::Job job;
  auto* stress = StressKind::mutable_wire(job);
  stress->mutable_scenario()->set_textproto(kScenario);
  JobEnv env;
  JobObserver observer;
  // The job's directory does not exist: the inline scenario cannot be written.
  pb::JobState state = run_submitted<StressKind>(env, options_, dir_ / "no-such-dir", job, observer, nullptr);
  EXPECT_EQ(state, pb::FAILED);
  EXPECT_EQ(job.exit_code(), 3);
  EXPECT_NE(job.error().find("inline-0.textproto"), std::string::npos) << job.error();
  EXPECT_FALSE(StressKind::has_report(job));
}

TEST_F(WireTest, AnInputErrorBeforeTheRunsIsExitTwoWithTheKindsErrorReport) {
  JobEnv env;
  env.racerig_version = "1.2.3";
  StressRequest request;
  request.scenario = "mine";
  request.kernel = "buggy";
  auto end = failed_end<StressKind>(env, request, make_error(ErrorKind::kInput, "no scenario \"mine\""));
  EXPECT_TRUE(end.failed);
  EXPECT_EQ(end.exit_code, 2);
  EXPECT_EQ(end.error, "no scenario \"mine\"");
  EXPECT_EQ(end.report.error(), "stress: no scenario \"mine\"") << "as `racerig stress --json` always wrote";
  EXPECT_EQ(end.report.scenario(), "mine");
  EXPECT_EQ(end.report.racerig_version(), "1.2.3");
  EXPECT_EQ(failed_end<StressKind>(env, request, make_error(ErrorKind::kBuild, "x")).exit_code, 3);
}

TEST_F(WireTest, TheEndOfARecordedJobIsWhatTheServerSaid) {
  JobEnv env;
  StressRequest request;
  request.kernel = "buggy";
  pb::Job job;
  job.set_state(pb::SUCCEEDED);
  job.set_exit_code(1);
  StressKind::mutable_report(job)->set_total(2);
  auto end = end_of<StressKind>(job, env, request);
  EXPECT_FALSE(end.failed);
  EXPECT_FALSE(end.cancelled);
  EXPECT_EQ(end.exit_code, 1);
  EXPECT_EQ(end.report.total(), 2);

  pb::Job failed;
  failed.set_state(pb::FAILED);
  failed.set_exit_code(2);
  failed.set_error("scenario: bad");
  StressKind::mutable_report(failed)->set_error("stress: scenario: bad");
  end = end_of<StressKind>(failed, env, request);
  EXPECT_TRUE(end.failed);
  EXPECT_EQ(end.exit_code, 2);
  EXPECT_EQ(end.report.error(), "stress: scenario: bad") << "the server's report";

  pb::Job cancelled;  // before it started: no report
  cancelled.set_state(pb::CANCELLED);
  cancelled.set_exit_code(3);
  cancelled.set_error("cancelled by ci before it started");
  end = end_of<StressKind>(cancelled, env, request);
  EXPECT_TRUE(end.failed);
  EXPECT_TRUE(end.cancelled);
  EXPECT_EQ(end.exit_code, 3);
  EXPECT_EQ(end.report.kernel_variant(), "buggy") << "the report made from the request";
  EXPECT_EQ(end.report.error(), "stress: cancelled by ci before it started");
}

}  // namespace
}  // namespace racerig::jobs
