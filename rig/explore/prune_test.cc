// Depth 2's pruning without a VM: which held points stand for their class.
#include "rig/explore/prune.h"

#include <gtest/gtest.h>

namespace racerig::explore {
namespace {

pb::ExplorePoint at(uint32_t line) {
  pb::ExplorePoint p;
  p.set_actor("faulter");
  p.set_function("__xfs_filemap_fault");
  p.set_file("fs/xfs/xfs_file.c");
  p.set_line(line);
  p.set_visit(1);
  return p;
}

void add(google::protobuf::RepeatedPtrField<pb::ExploredSchedule>& all, const std::string& held,
         const std::string& runner, uint32_t line, pb::Verdict v, bool serialized = false) {
  pb::ExploredSchedule& s = *all.Add();
  s.set_held(held);
  s.set_runner(runner);
  *s.mutable_point() = at(line);
  s.set_verdict(v);
  s.set_serialized(serialized);
  s.set_depth(1);
}

std::vector<uint32_t> lines(const std::vector<pb::ExplorePoint>& points) {
  std::vector<uint32_t> out;
  for (const auto& p : points) out.push_back(p.line());
  return out;
}

// The lock-only candidate's shape: before the lock the flipper passes, under
// it the flipper blocks, after the unlock it passes again.
TEST(PruneTest, TheLastPointOfEachRunOfFreelyPassedPointsStandsForIt) {
  std::vector<pb::ExplorePoint> trace;
  google::protobuf::RepeatedPtrField<pb::ExploredSchedule> d1;
  for (uint32_t line : {10, 11, 12}) add(d1, "faulter", "flipper", line, pb::NOT_REPRODUCED);
  for (uint32_t line : {20, 21}) add(d1, "faulter", "flipper", line, pb::NOT_REPRODUCED, /*serialized=*/true);
  for (uint32_t line : {30, 31}) add(d1, "faulter", "flipper", line, pb::NOT_REPRODUCED);
  for (uint32_t line : {10, 11, 12, 20, 21, 30, 31}) trace.push_back(at(line));
  EXPECT_EQ(lines(depth2_holds(trace, "faulter", "flipper", d1)), (std::vector<uint32_t>{12, 31}));
}

TEST(PruneTest, FailuresUnreachedPointsAndOtherDirectionsSplitOrDoNotCount) {
  std::vector<pb::ExplorePoint> trace;
  for (uint32_t line : {10, 11, 12, 13, 14}) trace.push_back(at(line));
  google::protobuf::RepeatedPtrField<pb::ExploredSchedule> d1;
  add(d1, "faulter", "flipper", 10, pb::NOT_REPRODUCED);
  add(d1, "faulter", "flipper", 11, pb::REPRODUCED);  // already a failure: splits
  add(d1, "faulter", "flipper", 12, pb::NOT_REPRODUCED);
  add(d1, "faulter", "flipper", 13, pb::SCHEDULE_NOT_REACHED);
  // 14 has no depth-1 schedule in this direction (cut by --max-schedules).
  add(d1, "flipper", "faulter", 14, pb::NOT_REPRODUCED);
  EXPECT_EQ(lines(depth2_holds(trace, "faulter", "flipper", d1)), (std::vector<uint32_t>{10, 12}));
  // A depth-2 schedule in the list is not a depth-1 result.
  google::protobuf::RepeatedPtrField<pb::ExploredSchedule> only_depth2;
  add(only_depth2, "faulter", "flipper", 10, pb::NOT_REPRODUCED);
  only_depth2.Mutable(0)->set_depth(2);
  EXPECT_TRUE(depth2_holds(trace, "faulter", "flipper", only_depth2).empty());
}

}  // namespace
}  // namespace racerig::explore
