// Patch validation rules (the JUnit rendering: junit_test.cc).
#include "rig/verdict/validate.h"

#include <gtest/gtest.h>

#include "rig/verdict/sample_runs.h"
#include "rig/verdict/verdict.h"

namespace racerig::verdict {
namespace {

using testing::runs;

TEST(ValidateTest, NamesAreTheProtoNamesAndUnknownForTheRest) {
  EXPECT_STREQ(verdict_name(pb::REPRODUCED), "REPRODUCED");
  EXPECT_STREQ(verdict_name(pb::OTHER_OOPS), "OTHER_OOPS");
  EXPECT_STREQ(verdict_name(pb::VERDICT_UNSPECIFIED), "UNKNOWN");
  EXPECT_STREQ(verdict_name(static_cast<pb::Verdict>(99)), "UNKNOWN");
  EXPECT_STREQ(result_name(pb::NOT_FIXED), "NOT_FIXED");
  EXPECT_STREQ(result_name(pb::INCONCLUSIVE), "INCONCLUSIVE");
  EXPECT_STREQ(result_name(pb::VALIDATION_UNSPECIFIED), "UNKNOWN");
  EXPECT_STREQ(result_name(static_cast<pb::ValidationResult>(99)), "UNKNOWN");
}

TEST(ValidateTest, FixedNeedsEveryControlRunToReproduceAndNoPatchedRunTo) {
  std::string why;
  EXPECT_EQ(classify(runs("buggy", {pb::REPRODUCED, pb::REPRODUCED}),
                     runs("p", {pb::NOT_REPRODUCED, pb::NOT_REPRODUCED}), &why),
            pb::FIXED);
  EXPECT_EQ(
      classify(runs("buggy", {pb::REPRODUCED, pb::REPRODUCED}), runs("p", {pb::NOT_REPRODUCED, pb::REPRODUCED}), &why),
      pb::NOT_FIXED);
  EXPECT_NE(why.find("iomap_page_mkwrite"), std::string::npos) << why;
}

TEST(ValidateTest, AControlThatDoesNotReproduceIsInconclusive) {
  std::string why;
  EXPECT_EQ(classify(runs("buggy", {pb::REPRODUCED, pb::NOT_REPRODUCED}), runs("p", {pb::NOT_REPRODUCED}), &why),
            pb::INCONCLUSIVE);
  EXPECT_NE(why.find("control (buggy)"), std::string::npos) << why;
}

TEST(ValidateTest, APatchedKernelThatNoLongerReachesTheHoldPointIsInconclusive) {
  std::string why;
  EXPECT_EQ(classify(runs("buggy", {pb::REPRODUCED}), runs("p", {pb::SCHEDULE_NOT_REACHED}), &why), pb::INCONCLUSIVE);
  EXPECT_NE(why.find("patched kernel (p)"), std::string::npos) << why;
  EXPECT_NE(why.find("because SCHEDULE_NOT_REACHED"), std::string::npos) << why;
}

// Rule 3: FIXED needs the schedule enforced (or serialized) on every patched run.
TEST(ValidateTest, FixedNeedsProofOnEveryPatchedRun) {
  std::string why;
  pb::ReproduceReport patched = runs("p", {pb::NOT_REPRODUCED, pb::NOT_REPRODUCED});
  patched.mutable_runs(1)->set_schedule_enforced(false);  // a lucky unforced run
  EXPECT_EQ(classify(runs("buggy", {pb::REPRODUCED}), patched, &why), pb::INCONCLUSIVE);
  EXPECT_NE(why.find("run 2 was NOT_REPRODUCED without an enforced schedule"), std::string::npos) << why;
}

TEST(ValidateTest, ASerializedPatchedRunIsFixedAndSaysWhy) {
  std::string why;
  pb::ReproduceReport patched = runs("p", {pb::NOT_REPRODUCED});
  pb::RunReport* run = patched.mutable_runs(0);
  run->set_schedule_enforced(false);
  run->set_serialized(true);
  pb::BlockedTask* b = run->add_blocked();
  b->set_actor("flipper");
  b->set_where("rwsem_down_write_slowpath ← xfs_ilock ← xfs_fileattr_set");
  b->add_behind("faulter held at __xfs_filemap_fault (vCPU 0)");
  EXPECT_EQ(classify(runs("buggy", {pb::REPRODUCED}), patched, &why), pb::FIXED);
  EXPECT_NE(why.find("serialized: flipper blocked at rwsem_down_write_slowpath ← xfs_ilock ← "
                     "xfs_fileattr_set while faulter held at __xfs_filemap_fault"),
            std::string::npos)
      << why;
}

TEST(ValidateTest, ADeadlockOrAnotherOopsOnThePatchedKernelIsNotFixed) {
  std::string why;
  EXPECT_EQ(classify(runs("buggy", {pb::REPRODUCED}), runs("p", {pb::DEADLOCK}), &why), pb::NOT_FIXED);
  EXPECT_NE(why.find("because DEADLOCK"), std::string::npos) << why;
  EXPECT_EQ(classify(runs("buggy", {pb::REPRODUCED}), runs("p", {pb::NOT_REPRODUCED, pb::OTHER_OOPS}), &why),
            pb::NOT_FIXED);
  // Even when the control did not reproduce: the patch broke something.
  EXPECT_EQ(classify(runs("buggy", {pb::NOT_REPRODUCED}), runs("p", {pb::DEADLOCK}), &why), pb::NOT_FIXED);
}

TEST(ValidateTest, InfrastructureFailuresAreErrors) {
  std::string why;
  EXPECT_EQ(classify(runs("buggy", {pb::INFRA_ERROR}), runs("p", {pb::NOT_REPRODUCED}), &why), pb::ERROR);
  EXPECT_EQ(classify(runs("buggy", {}), runs("p", {}), &why), pb::ERROR);
}

// ------------------------------------------------ exploring validate

pb::ExploredSchedule explored(int index, const std::string& held, int line, pb::Verdict v, bool serialized = false) {
  pb::ExploredSchedule s;
  s.set_index(index);
  s.set_held(held);
  s.set_runner(held == "faulter" ? "flipper" : "faulter");
  s.mutable_point()->set_function("__xfs_filemap_fault");
  s.mutable_point()->set_file("fs/xfs/xfs_file.c");
  s.mutable_point()->set_line(line);
  s.mutable_point()->set_visit(1);
  s.set_verdict(v);
  s.set_serialized(serialized);
  s.set_reason(std::string("because ") + verdict_name(v));
  s.mutable_run()->set_schedule_enforced(v == pb::NOT_REPRODUCED && !serialized);
  if (v == pb::REPRODUCED) s.mutable_run()->mutable_oops()->set_headline("BUG: kernel NULL pointer dereference");
  return s;
}

pb::ExploreReport map_of(const std::string& variant, std::initializer_list<pb::ExploredSchedule> schedules) {
  pb::ExploreReport m;
  m.set_kernel_variant(variant);
  for (const auto& s : schedules) *m.add_schedules() = s;
  return m;
}

TEST(ValidateExploredTest, FixedNeedsNoFailingPointAndEveryPointExercisedOrUnreachable) {
  const auto control = runs("buggy", {pb::REPRODUCED, pb::REPRODUCED});
  const auto patched = runs("buggy+fix", {pb::NOT_REPRODUCED, pb::NOT_REPRODUCED});
  const auto control_map = map_of("buggy", {explored(1, "faulter", 1348, pb::REPRODUCED),
                                            explored(2, "faulter", 1361, pb::NOT_REPRODUCED, true)});
  const auto patched_map = map_of("buggy+fix", {explored(1, "faulter", 1348, pb::NOT_REPRODUCED),
                                                explored(2, "faulter", 1361, pb::NOT_REPRODUCED, true),
                                                explored(3, "flipper", 1400, pb::SCHEDULE_NOT_REACHED)});
  std::string why;
  EXPECT_EQ(classify_explored(control, patched, control_map, patched_map, &why), pb::FIXED) << why;
  EXPECT_NE(why.find("2 of 3 exercised (1 serialized), 1 unreachable"), std::string::npos) << why;
  EXPECT_NE(why.find("the control reproduced at 1 of 2"), std::string::npos) << why;
}

TEST(ValidateExploredTest, AReproducingPointOnThePatchedKernelIsNotFixedAndNamed) {
  const auto control = runs("buggy", {pb::REPRODUCED});
  const auto patched = runs("buggy+lock", {pb::NOT_REPRODUCED});  // the hand schedule alone would say FIXED
  const auto control_map = map_of("buggy", {explored(1, "faulter", 1348, pb::REPRODUCED)});
  const auto patched_map = map_of("buggy+lock", {explored(1, "faulter", 1348, pb::NOT_REPRODUCED, true),
                                                 explored(2, "faulter", 1381, pb::REPRODUCED)});
  std::string why;
  EXPECT_EQ(classify_explored(control, patched, control_map, patched_map, &why), pb::NOT_FIXED);
  EXPECT_NE(why.find("faulter at __xfs_filemap_fault fs/xfs/xfs_file.c:1381 #1 while flipper runs: REPRODUCED"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("fails at 1 of 2"), std::string::npos) << why;
}

TEST(ValidateExploredTest, AControlThatReproducesNowhereIsInconclusiveAndAStallIsNotAPass) {
  const auto control = runs("buggy", {pb::REPRODUCED});
  const auto patched = runs("p", {pb::NOT_REPRODUCED});
  std::string why;
  EXPECT_EQ(classify_explored(control, patched, map_of("buggy", {explored(1, "faulter", 1, pb::NOT_REPRODUCED)}),
                              map_of("p", {explored(1, "faulter", 1, pb::NOT_REPRODUCED)}), &why),
            pb::INCONCLUSIVE);
  EXPECT_NE(why.find("reproduced at none"), std::string::npos) << why;
  EXPECT_EQ(classify_explored(control, patched, map_of("buggy", {explored(1, "faulter", 1, pb::REPRODUCED)}),
                              map_of("p", {explored(1, "faulter", 1, pb::STALLED)}), &why),
            pb::INCONCLUSIVE);
  EXPECT_NE(why.find("neither exercised nor unreachable"), std::string::npos) << why;
  pb::ExploreReport broken = map_of("p", {});
  broken.set_error("tracing faulter: INFRA_ERROR: QEMU died");
  EXPECT_EQ(classify_explored(control, patched, map_of("buggy", {explored(1, "faulter", 1, pb::REPRODUCED)}), broken,
                              &why),
            pb::ERROR);
  EXPECT_EQ(classify_explored(control, patched, map_of("buggy", {explored(1, "faulter", 1, pb::REPRODUCED)}),
                              map_of("p", {explored(1, "faulter", 1, pb::DEADLOCK)}), &why),
            pb::NOT_FIXED);
}

TEST(ValidateExploredTest, ADepthTwoFailureIsNamedWithBothPointsBeforeSerializedDepthOneTails) {
  const auto control = runs("buggy", {pb::REPRODUCED});
  const auto patched = runs("buggy+lock", {pb::NOT_REPRODUCED});
  const auto control_map = map_of("buggy", {explored(1, "faulter", 1348, pb::REPRODUCED)});
  pb::ExploredSchedule deep = explored(3, "faulter", 1381, pb::REPRODUCED, true);
  deep.set_depth(2);
  deep.mutable_runner_point()->set_function("xfs_ioctl_setattr_dax_invalidate");
  deep.mutable_runner_point()->set_file("fs/xfs/xfs_ioctl.c");
  deep.mutable_runner_point()->set_line(1220);
  deep.mutable_runner_point()->set_visit(1);
  const auto patched_map =
      map_of("buggy+lock", {explored(1, "faulter", 1350, pb::NOT_REPRODUCED),
                            explored(2, "flipper", 1400, pb::REPRODUCED, true), deep});
  std::string why;
  EXPECT_EQ(classify_explored(control, patched, control_map, patched_map, &why), pb::NOT_FIXED);
  const std::string named =
      "faulter at __xfs_filemap_fault fs/xfs/xfs_file.c:1381 #1, flipper to xfs_ioctl_setattr_dax_invalidate "
      "fs/xfs/xfs_ioctl.c:1220 #1, then faulter finishes: REPRODUCED";
  EXPECT_EQ(why.find(named), why.find(": ") + 2) << "named first: " << why;
  EXPECT_NE(why.find("flipper at __xfs_filemap_fault fs/xfs/xfs_file.c:1400 #1 while faulter runs"), std::string::npos)
      << why;
}

TEST(ValidateExploredTest, AnExplorationThatStoppedBeforeItsPlannedSchedulesIsNoProof) {
  const auto control = runs("buggy", {pb::REPRODUCED});
  const auto patched = runs("p", {pb::NOT_REPRODUCED});
  auto patched_map = map_of("p", {explored(1, "faulter", 1, pb::NOT_REPRODUCED)});
  patched_map.set_total(5);  // interrupted after one of five
  std::string why;
  EXPECT_EQ(classify_explored(control, patched, map_of("buggy", {explored(1, "faulter", 1, pb::REPRODUCED)}),
                              patched_map, &why),
            pb::INCONCLUSIVE);
  EXPECT_NE(why.find("stopped after 1 of its 5 planned schedules"), std::string::npos) << why;
}

}  // namespace
}  // namespace racerig::verdict
