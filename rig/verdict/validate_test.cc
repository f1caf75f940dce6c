// Patch validation rules (the JUnit rendering: junit_test.cc).
#include "rig/verdict/validate.h"

#include <gtest/gtest.h>

#include "rig/verdict/verdict.h"

namespace racerig::verdict {
namespace {

pb::ReproduceReport runs(const std::string& variant, std::initializer_list<pb::Verdict> verdicts) {
  pb::ReproduceReport r;
  r.set_kernel_variant(variant);
  int i = 0;
  for (pb::Verdict v : verdicts) {
    pb::RunReport* run = r.add_runs();
    run->set_run(++i);
    run->set_verdict(v);
    run->set_reason(std::string("because ") + verdict_name(v));
    run->set_schedule_enforced(true);
    if (v == pb::REPRODUCED) {
      run->mutable_oops()->set_headline("BUG: kernel NULL pointer dereference, address: 0000000000000008");
      run->mutable_oops()->mutable_rip()->set_text("iomap_page_mkwrite+0x48/0x1e0");
    }
  }
  return r;
}

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

}  // namespace
}  // namespace racerig::verdict
