// A job's artifacts by name, and what replies leave out, without gRPC.
#include "rig/service/artifacts.h"

#include <gtest/gtest.h>

namespace racerig::service {
namespace {

// A validate job whose report holds runs at two depths.
pb::Job validate_job() {
  pb::Job job;
  job.set_id("7");
  job.set_state(pb::SUCCEEDED);
  auto* rep = job.mutable_validate_report();
  auto* scenario = rep->add_scenarios();
  scenario->set_scenario("s");
  scenario->mutable_control()->add_runs()->set_console("control console\n");
  scenario->mutable_patched()->add_runs()->set_console("patched console\n");
  return job;
}

TEST(Artifacts, RunsAreNumberedDepthFirstAndNamed) {
  const pb::Job job = validate_job();
  const auto runs = runs_of(job);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]->console(), "control console\n");
  const auto names = artifact_names(job);
  EXPECT_EQ(names, (std::vector<std::string>{"report.json", "junit.xml", "runs/1/console", "runs/2/console"}));
  auto second = artifact_content(job, "runs/2/console");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, "patched console\n");
  for (const char* bad : {"runs/0/console", "runs/3/console", "runs/1/qemu.log", "runs/x/console", "runs/1", "../x"}) {
    auto r = artifact_content(job, bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Code::kNotFound) << bad;
    EXPECT_NE(r.error().message.find("runs/2/console"), std::string::npos) << r.error().message;
  }
}

TEST(Artifacts, RepliesLeaveConsolesAndLargeReportsOut) {
  pb::Job job = validate_job();
  strip_consoles(job);
  EXPECT_TRUE(job.validate_report().scenarios(0).control().runs(0).console().empty());
  EXPECT_FALSE(omit_large_report(job));
  EXPECT_TRUE(job.has_validate_report());
  // Large without consoles: the whole report goes.
  job.mutable_validate_report()->mutable_scenarios(0)->mutable_control()->mutable_runs(0)->set_reason(
      std::string(4 << 20, 'r'));
  EXPECT_TRUE(omit_large_report(job));
  EXPECT_FALSE(job.has_validate_report());
  EXPECT_TRUE(job.report_omitted());
}

}  // namespace
}  // namespace racerig::service
