// Explore's points and schedules without a VM: visits per stable name,
// addresses outside the window, and the schedule's steps in both forms.
#include "rig/explore/points.h"

#include <gtest/gtest.h>

namespace racerig::explore {
namespace {

dwarf::WindowAddress wa(uint64_t addr, std::string function, uint32_t line) {
  dwarf::WindowAddress a;
  a.addr = GuestAddr(addr);
  a.function = std::move(function);
  a.file = "fs/xfs/xfs_file.c";
  a.line = line;
  a.statements = {{a.file, line}};
  return a;
}

Window seed_window() {
  // Line 1373 starts at two addresses, as measured on 6.1.
  return Window({wa(0x100, "__xfs_filemap_fault", 1348), wa(0x120, "__xfs_filemap_fault", 1373),
                 wa(0x122, "__xfs_filemap_fault", 1373), wa(0x200, "xfs_fileattr_set", 1300)});
}

pb::TraceEvent hit(const std::string& actor, uint64_t pc) {
  pb::TraceEvent e;
  e.set_what("trace");
  e.set_actor(actor);
  e.set_pc(pc);
  return e;
}

TEST(PointsTest, VisitsCountArrivalsAtAnyAddressOfTheSameName) {
  google::protobuf::RepeatedPtrField<pb::TraceEvent> events;
  for (auto [actor, pc] : std::vector<std::pair<std::string, uint64_t>>{
           {"faulter", 0x100}, {"flipper", 0x200}, {"faulter", 0x120}, {"faulter", 0x122},
           {"faulter", 0x999},  // outside the window
           {"faulter", 0x100}})
    *events.Add() = hit(actor, pc);
  pb::TraceEvent other = hit("faulter", 0x100);
  other.set_what("skipped");  // not a trace event
  *events.Add() = other;
  auto points = points_of(seed_window(), events);
  ASSERT_EQ(points["faulter"].size(), 4u);
  ASSERT_EQ(points["flipper"].size(), 1u);
  std::vector<std::string> labels;
  for (const auto& p : points["faulter"]) labels.push_back(point_label(p));
  EXPECT_EQ(labels, (std::vector<std::string>{"__xfs_filemap_fault fs/xfs/xfs_file.c:1348 #1",
                                              "__xfs_filemap_fault fs/xfs/xfs_file.c:1373 #1",
                                              "__xfs_filemap_fault fs/xfs/xfs_file.c:1373 #2",
                                              "__xfs_filemap_fault fs/xfs/xfs_file.c:1348 #2"}));
  EXPECT_EQ(points["flipper"][0].actor(), "flipper");
  ASSERT_EQ(points["faulter"][0].statements_size(), 1);
  EXPECT_EQ(points["faulter"][0].statements(0), "fs/xfs/xfs_file.c:1348");
}

TEST(PointsTest, AStalledTraceSaysWhereEachActorStoodAndWhetherTheParkedOnesWentOn) {
  google::protobuf::RepeatedPtrField<pb::TraceEvent> events;
  EXPECT_EQ(trace_standing(events), "no actor arrived at the window; the parked actors were never let go");
  *events.Add() = hit("flipper", 0x200);
  events.rbegin()->set_symbol("xfs_fileattr_set+0x0/0x5bd");
  *events.Add() = hit("faulter", 0x100);
  *events.Add() = hit("faulter", 0x122);
  events.rbegin()->set_symbol("__xfs_filemap_fault+0x22/0x17c");
  EXPECT_EQ(trace_standing(events),
            "flipper last at xfs_fileattr_set+0x0/0x5bd; faulter last at __xfs_filemap_fault+0x22/0x17c; "
            "the parked actors were never let go");
  pb::TraceEvent released;
  released.set_what("trace_released");
  released.set_detail("faulter finished its operations");
  *events.Add() = released;
  *events.Add() = hit("flipper", 0x201);  // no symbol: the address
  EXPECT_EQ(trace_standing(events),
            "flipper last at 0x0000000000000201; faulter last at __xfs_filemap_fault+0x22/0x17c; "
            "the parked actors were let go: faulter finished its operations");
}

TEST(PointsTest, AScheduleHoldsAtEveryAddressOfThePointParksTheRunnerAndRunsItToItsEnd) {
  const Window w = seed_window();
  pb::ExplorePoint p;
  p.set_function("__xfs_filemap_fault");
  p.set_file("fs/xfs/xfs_file.c");
  p.set_line(1373);
  p.set_visit(2);
  pb::ExplorePoint first;
  first.set_function("xfs_fileattr_set");
  first.set_file("fs/xfs/xfs_file.c");
  first.set_line(1300);
  first.set_visit(1);
  Schedule s = schedule_for(w, "faulter", p, "flipper", &first);
  ASSERT_EQ(s.steps.size(), 4u);
  EXPECT_EQ(s.steps[0].kind, schedule::Step::Kind::kHold);
  EXPECT_EQ(s.steps[0].actor, "faulter");
  EXPECT_EQ(s.steps[0].addrs, (std::vector<GuestAddr>{GuestAddr(0x120), GuestAddr(0x122)}));
  EXPECT_EQ(s.steps[0].visit, 2);
  EXPECT_EQ(s.steps[1].kind, schedule::Step::Kind::kHold);
  EXPECT_EQ(s.steps[1].actor, "flipper");
  EXPECT_EQ(s.steps[1].addrs, (std::vector<GuestAddr>{GuestAddr(0x200)}));
  EXPECT_EQ(s.steps[2].kind, schedule::Step::Kind::kRunToEnd);
  EXPECT_EQ(s.steps[2].actor, "flipper");
  EXPECT_EQ(s.steps[3].kind, schedule::Step::Kind::kRelease);
  EXPECT_EQ(s.steps[3].actor, "faulter");
  ASSERT_EQ(s.scenario.size(), 4u);
  EXPECT_EQ(s.scenario[0].hold().at().line(), "fs/xfs/xfs_file.c:1373");
  EXPECT_EQ(s.scenario[0].hold().visit(), 2u);
  EXPECT_EQ(s.scenario[1].hold().actor(), "flipper");
  EXPECT_TRUE(s.scenario[2].run().until_done());
  EXPECT_EQ(s.scenario[3].release().actor(), "faulter");
  // A runner that never entered the window is not parked.
  EXPECT_EQ(schedule_for(w, "faulter", p, "flipper", nullptr).steps.size(), 3u);
}

pb::ExplorePoint point(const std::string& function, uint32_t line, uint32_t visit) {
  pb::ExplorePoint p;
  p.set_function(function);
  p.set_file("fs/xfs/xfs_file.c");
  p.set_line(line);
  p.set_visit(visit);
  return p;
}

TEST(PointsTest, ADepthTwoScheduleRunsTheRunnerToItsPointThenTheHeldOneToItsEnd) {
  const Window w = seed_window();
  const pb::ExplorePoint p = point("__xfs_filemap_fault", 1348, 1);
  const pb::ExplorePoint first = point("xfs_fileattr_set", 1300, 1);
  const pb::ExplorePoint q = point("__xfs_filemap_fault", 1373, 2);
  Schedule s = schedule_depth2(w, "faulter", p, "flipper", &first, q);
  ASSERT_EQ(s.steps.size(), 5u);
  EXPECT_EQ(s.steps[0].kind, schedule::Step::Kind::kHold);
  EXPECT_EQ(s.steps[1].kind, schedule::Step::Kind::kHold);  // the park
  EXPECT_EQ(s.steps[2].kind, schedule::Step::Kind::kRun);
  EXPECT_EQ(s.steps[2].actor, "flipper");
  EXPECT_EQ(s.steps[2].addrs, (std::vector<GuestAddr>{GuestAddr(0x120), GuestAddr(0x122)}));
  EXPECT_EQ(s.steps[2].visit, 2);
  EXPECT_EQ(s.steps[3].kind, schedule::Step::Kind::kRunToEnd);
  EXPECT_EQ(s.steps[3].actor, "faulter");
  EXPECT_EQ(s.steps[4].kind, schedule::Step::Kind::kRelease);
  EXPECT_EQ(s.steps[4].actor, "flipper");
  ASSERT_EQ(s.scenario.size(), 5u);
  EXPECT_EQ(s.scenario[2].run().actor(), "flipper");
  EXPECT_EQ(s.scenario[2].run().until().line(), "fs/xfs/xfs_file.c:1373");
  EXPECT_EQ(s.scenario[2].run().until().function(), "__xfs_filemap_fault");
  EXPECT_EQ(s.scenario[2].run().visit(), 2u);
  EXPECT_TRUE(s.scenario[3].run().until_done());
  EXPECT_EQ(s.scenario[4].release().actor(), "flipper");
}

TEST(PointsTest, TheRunnersParkCountsAsItsFirstVisitOfItsFirstPoint) {
  const Window w = seed_window();
  const pb::ExplorePoint p = point("__xfs_filemap_fault", 1348, 1);
  const pb::ExplorePoint first = point("xfs_fileattr_set", 1300, 1);
  // q is the park itself: no run step, the runner stays where it is parked.
  Schedule at_park = schedule_depth2(w, "faulter", p, "flipper", &first, first);
  ASSERT_EQ(at_park.steps.size(), 4u);
  EXPECT_EQ(at_park.steps[2].kind, schedule::Step::Kind::kRunToEnd);
  // Its second visit is the next arrival after the park.
  Schedule second = schedule_depth2(w, "faulter", p, "flipper", &first, point("xfs_fileattr_set", 1300, 2));
  ASSERT_EQ(second.steps.size(), 5u);
  EXPECT_EQ(second.steps[2].visit, 1);
  EXPECT_EQ(second.scenario[2].run().visit(), 0u);  // the first arrival: no visit written
}

}  // namespace
}  // namespace racerig::explore
