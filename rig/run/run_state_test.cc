// The state of one run and the pure parts of its steps: what a new run's
// report says, how phases are timed, what the agent is told, where the
// NVDIMM template of a context is.
#include "rig/run/run_state.h"

#include <gtest/gtest.h>

#include <string>

#include "rig/run/boot.h"
#include "rig/run/pmem_template.h"

namespace racerig::run {
namespace {

RunContext context() {
  RunContext ctx;
  ctx.kernel.variant = "buggy";
  ctx.kernel.build_id = "b1d";
  ctx.scenario.scenario.set_name("flip");
  ctx.scenario.scenario.mutable_workload()->add_actors()->set_name("faulter");
  ctx.base_initramfs = "/cache/base-abc.cpio";
  ctx.options.cpus = 2;
  ctx.options.work_dir = "/cache/work";
  return ctx;
}

TEST(RunStateTest, ANewRunsReportNamesTheRunTheScenarioAndTheKernel) {
  const RunContext ctx = context();
  RunState run(ctx, 3);
  EXPECT_EQ(run.report.run(), 3);
  EXPECT_EQ(run.report.scenario(), "flip");
  EXPECT_EQ(run.report.kernel_variant(), "buggy");
  EXPECT_EQ(run.report.kernel_build_id(), "b1d");
  EXPECT_EQ(run.report.verdict(), pb::Verdict());
  EXPECT_EQ(run.live, nullptr);
  EXPECT_FALSE(run.monitor.has_value());
  EXPECT_FALSE(run.evidence.schedule_ran);
}

TEST(RunStateTest, PhasesAreMarkedInOrderIntoTheRunsReport) {
  const RunContext ctx = context();
  RunState run(ctx, 1);
  run.phases.mark("boot");
  run.phases.mark("guest_setup");
  ASSERT_EQ(run.report.timings_size(), 2);
  EXPECT_EQ(run.report.timings(0).phase(), "boot");
  EXPECT_EQ(run.report.timings(1).phase(), "guest_setup");
  EXPECT_GE(run.report.timings(0).ms(), 0);
  EXPECT_GE(run.report.timings(1).ms(), 0);
}

TEST(RunStateTest, TheAgentWaitsForGoWithAScheduleOrFromASnapshot) {
  RunContext ctx = context();
  pb::GuestPlan cold = plan_of(ctx, false, true);
  EXPECT_FALSE(cold.wait_for_go()) << "no schedule, cold: the actors just run";
  EXPECT_FALSE(cold.stay_up());
  EXPECT_TRUE(cold.filesystem_from_template());
  EXPECT_EQ(cold.workload().actors(0).name(), "faulter");
  pb::GuestPlan snap = plan_of(ctx, true, false);
  EXPECT_TRUE(snap.wait_for_go());
  EXPECT_TRUE(snap.stay_up());
  EXPECT_FALSE(snap.filesystem_from_template());
  ctx.steps.emplace_back();
  EXPECT_TRUE(plan_of(ctx, false, false).wait_for_go()) << "a schedule: the actors wait for go";
}

TEST(RunStateTest, TheTemplateIsKeyedByKernelVcpusAndSetUp) {
  RunContext ctx = context();
  const std::filesystem::path p = pmem_template_path(ctx);
  EXPECT_EQ(p.parent_path(), std::filesystem::path("/cache/work/pmem-templates"));
  EXPECT_EQ(p.extension(), ".img");
  EXPECT_EQ(pmem_template_path(ctx), p) << "the same context, the same template";
  RunContext other = ctx;
  other.kernel.build_id = "b2d";
  EXPECT_NE(pmem_template_path(other), p);
  other = ctx;
  other.options.cpus = 3;
  EXPECT_NE(pmem_template_path(other), p);
  other = ctx;
  other.scenario.scenario.mutable_workload()->mutable_setup()->set_skip_fsdax(true);
  EXPECT_NE(pmem_template_path(other), p);
  other = ctx;
  other.kernel.variant = "renamed";
  EXPECT_EQ(pmem_template_path(other), p) << "the build id, not the name, says which kernel";
}

}  // namespace
}  // namespace racerig::run
