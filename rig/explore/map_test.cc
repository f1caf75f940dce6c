// The explore map's renderings on a hand-built report: the terminal table
// (rows, order, totals, summary) and the emitted scenarios (distinct, named, loading back through rig/scenario).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <google/protobuf/util/message_differencer.h>

#include "proto/text_format.h"
#include "rig/base/file.h"
#include "rig/explore/emit.h"
#include "rig/explore/map.h"
#include "rig/explore/sample_report.h"
#include "rig/scenario/scenario.h"

namespace racerig::explore {
namespace {

namespace fs = std::filesystem;

using namespace racerig::explore::testing;  // NOLINT: the sample report's builders

using Scratch = SampleSourceTest;

// ---------------------------------------------------------------- names

TEST(Names, PointOutcomeDirectionAndSteps) {
  EXPECT_EQ(point_name(point("faulter", "__xfs_filemap_fault", "fs/xfs/xfs_file.c", 1348, 1)),
            "__xfs_filemap_fault fs/xfs/xfs_file.c:1348 #1");
  pb::ExplorePoint p = point("a", "f", "x.c", 3, 2);
  const std::pair<pb::Verdict, std::string> cases[] = {
      {pb::REPRODUCED, "REPRODUCED"},       {pb::NOT_REPRODUCED, "NOT_REPRODUCED"},
      {pb::DEADLOCK, "DEADLOCK"},           {pb::OTHER_OOPS, "OTHER_OOPS"},
      {pb::SCHEDULE_NOT_REACHED, "not reached"}, {pb::STALLED, "STALLED"},
      {pb::INFRA_ERROR, "INFRA_ERROR"},     {pb::VERDICT_UNSPECIFIED, "UNKNOWN"}};
  for (const auto& [v, name] : cases) EXPECT_EQ(outcome_name(schedule(0, p, "b", v)), name);
  EXPECT_EQ(outcome_name(schedule(0, p, "b", pb::NOT_REPRODUCED, true)), "serialized");
  // A crash after the serialization is said apart: the schedule did not force it.
  EXPECT_EQ(outcome_name(schedule(0, p, "b", pb::REPRODUCED, true)), "REPRODUCED after serialization");
  EXPECT_EQ(direction_name(schedule(0, p, "b", pb::REPRODUCED)), "a held, b runs");

  pb::ExploredSchedule s = schedule(0, p, "b", pb::REPRODUCED);
  ASSERT_EQ(s.schedule_size(), 4);
  EXPECT_EQ(step_text(s.schedule(0)), "run b until __xfs_filemap_fault");
  EXPECT_EQ(step_text(s.schedule(1)), "hold a at x.c:3 #2");
  EXPECT_EQ(step_text(s.schedule(2)), "run b until done");
  EXPECT_EQ(step_text(s.schedule(3)), "release a");
  pb::Step st;
  auto* h = st.mutable_hold();
  h->set_actor("a");
  h->mutable_at()->set_symbol("f");
  auto* w = h->add_when();
  w->set_arg(3);
  w->set_value(1);
  EXPECT_EQ(step_text(st), "hold a at f when arg3 == 1");
  st.mutable_release();
  EXPECT_EQ(step_text(st), "release everyone");
}

// ---------------------------------------------------------------- table

TEST(Map, RowsGroupedByDirectionInTraceOrderWithTotals) {
  const std::string map = render_map(sample_report());
  SCOPED_TRACE(map);
  EXPECT_EQ(map.find("error:"), std::string::npos);
  EXPECT_EQ(map.rfind("explore xfs-dax-flip-vs-write-fault on buggy (build abc123)\n", 0), 0u);
  size_t faulter = map.find("\nfaulter held, flipper runs\n"), flipper = map.find("\nflipper held, faulter runs\n");
  ASSERT_NE(faulter, std::string::npos);
  ASSERT_NE(flipper, std::string::npos);
  EXPECT_LT(faulter, flipper);
  // Each row: index, point, outcome, time, in its direction's block.
  auto row = [&](const std::string& point_text, const std::string& outcome) {
    size_t at = map.find(point_text);
    EXPECT_NE(at, std::string::npos) << point_text;
    if (at == std::string::npos) return at;
    size_t end = map.find('\n', at);
    EXPECT_NE(map.substr(at, end - at).find(" " + outcome + " "), std::string::npos) << point_text;
    return at;
  };
  size_t r0 = row("__xfs_filemap_fault fs/xfs/xfs_file.c:10 #1", "REPRODUCED");
  row("__xfs_filemap_fault fs/xfs/xfs_file.c:11 #1", "DEADLOCK");
  row("__xfs_filemap_fault fs/xfs/xfs_file.c:12 #1", "serialized");
  size_t r3 = row("__xfs_filemap_fault fs/xfs/xfs_file.c:12 #2", "NOT_REPRODUCED");
  size_t r4 = row("__xfs_filemap_fault fs/xfs/xfs_file.c:13 #1", "NOT_REPRODUCED");
  row("__xfs_filemap_fault fs/xfs/xfs_file.c:20 #1", "not reached");
  row("inode_lock include/linux/fs.h:5 #1", "STALLED");
  size_t r7 = row("xfs_fileattr_set fs/xfs/xfs_ioctl.c:30 #1", "OTHER_OOPS");
  row("xfs_fileattr_set fs/xfs/xfs_ioctl.c:31 #1", "INFRA_ERROR");
  row("xfs_fileattr_set fs/xfs/xfs_ioctl.c:32 #1", "REPRODUCED");
  EXPECT_LT(faulter, r0);
  EXPECT_LT(r3, r4) << "rows follow the trace, not the report";
  EXPECT_LT(r4, flipper);
  EXPECT_LT(flipper, r7);
  EXPECT_NE(map.find("105 ms\n"), std::string::npos);
  EXPECT_NE(map.find("60.0 s\n"), std::string::npos);
  // The traced point no schedule held has no row.
  EXPECT_EQ(map.find("xfs_file.c:14"), std::string::npos);

  EXPECT_NE(map.find("\noutcomes: REPRODUCED 2, DEADLOCK 1, OTHER_OOPS 1, NOT_REPRODUCED 2, serialized 1, "
                     "not reached 1, STALLED 1, INFRA_ERROR 1\n"),
            std::string::npos);
  EXPECT_NE(map.find("\n10 schedules of 12 planned, trace 1234 ms, total 56.8 s\n"), std::string::npos);
  EXPECT_NE(map.find("\nreproduced at 2 points: faulter held at __xfs_filemap_fault fs/xfs/xfs_file.c:10 #1 "
                     "(flipper runs); flipper held at xfs_fileattr_set fs/xfs/xfs_ioctl.c:32 #1 (faulter runs)\n"),
            std::string::npos);
}

TEST(Map, DepthTwoRowsNameBothPointsInTheirOwnDirectionAndThePruning) {
  pb::ExploreReport r;
  r.set_scenario("s");
  r.set_kernel_variant("buggy+lock");
  *r.add_schedules() = schedule(1, point("faulter", "__xfs_filemap_fault", kXfsFile, 1381, 1), "flipper",
                                pb::NOT_REPRODUCED);
  pb::ExploredSchedule deep = schedule(2, point("faulter", "__xfs_filemap_fault", kXfsFile, 1381, 1), "flipper",
                                       pb::REPRODUCED, /*serialized=*/true);
  deep.set_depth(2);
  *deep.mutable_runner_point() = point("flipper", "xfs_ioctl_setattr_dax_invalidate", kIoctl, 1220, 1);
  *r.add_schedules() = deep;
  r.set_depth(2);
  r.set_depth2_candidates(2814);
  r.set_depth2_planned(155);
  r.set_depth2_stopped_at_failure(true);
  r.set_total(157);
  const std::string map = render_map(r);
  SCOPED_TRACE(map);
  const size_t d1 = map.find("\nfaulter held, flipper runs\n");
  const size_t d2 = map.find("\nfaulter held, flipper to a point, faulter finishes\n");
  ASSERT_NE(d1, std::string::npos);
  ASSERT_NE(d2, std::string::npos);
  EXPECT_LT(d1, d2);
  const size_t row = map.find(
      "__xfs_filemap_fault fs/xfs/xfs_file.c:1381 #1; flipper at xfs_ioctl_setattr_dax_invalidate "
      "fs/xfs/xfs_ioctl.c:1220 #1");
  EXPECT_GT(row, d2);
  EXPECT_NE(map.find("REPRODUCED after serialization", row), std::string::npos);
  EXPECT_NE(map.find("\n2 schedules of 157 planned"), std::string::npos);
  EXPECT_NE(map.find("\ndepth 2: 155 of 2814 pairs of points planned (2659 pruned by depth 1); stopped at the first "
                     "failure\n"),
            std::string::npos);
  EXPECT_EQ(scenario_file_name("s", deep), "s-faulter-__xfs_filemap_fault-1381-v1-flipper-1220-v1.textproto");
}

TEST(Map, ErrorFirstAndNoReproduction) {
  pb::ExploreReport r = sample_report();
  r.mutable_schedules(0)->set_verdict(pb::NOT_REPRODUCED);
  r.mutable_schedules(9)->set_verdict(pb::NOT_REPRODUCED);
  r.set_error("the trace run failed: STALLED");
  const std::string map = render_map(r);
  EXPECT_EQ(map.rfind("error: the trace run failed: STALLED\n", 0), 0u) << map;
  EXPECT_NE(map.find("\nno point reproduced\n"), std::string::npos) << map;
  EXPECT_EQ(summary_line(r), "no point reproduced");
  EXPECT_NE(map.find("outcomes: DEADLOCK 1, OTHER_OOPS 1, NOT_REPRODUCED 4,"), std::string::npos) << map;

  pb::ExploreReport empty;
  empty.set_error("window \"nope\" does not resolve");
  const std::string none = render_map(empty);
  EXPECT_EQ(none.rfind("error: window \"nope\" does not resolve\n", 0), 0u) << none;
  EXPECT_NE(none.find("0 schedules, trace 0 ms, total 0 ms\nno point reproduced\n"), std::string::npos) << none;
}

// ---------------------------------------------------------------- emit

const char kBase[] = R"(name: "xfs-dax-flip-vs-write-fault"
description: "write fault vs DAX flip"
workload {
  actors { name: "faulter" cpu: 0 ops { mmap_write { path: "/mnt/foo" offset: 0 length: 4096 pattern: 0xab } } }
  actors { name: "flipper" cpu: 1 ops { set_dax { path: "/mnt/foo" enable: false } } }
}
schedule { hold { actor: "faulter" at { symbol: "__xfs_filemap_fault" } } }
schedule { run { actor: "flipper" until_done: true } }
schedule { release {} }
expect { oops { function: "iomap_page_mkwrite" } }
explore { functions: "__xfs_filemap_fault" }
)";

pb::Scenario base_scenario() {
  pb::Scenario s;
  Status st = proto::parse_text_format(kBase, "base.textproto", &s);
  EXPECT_TRUE(st.ok()) << st.error().message;
  return s;
}

TEST_F(Scratch, EmitsEachDistinctReproducingScheduleAsALoadableScenario) {
  pb::ExploreReport r = sample_report();
  pb::ExploredSchedule again = r.schedules(0);  // the same steps once more
  again.set_index(10);
  *r.add_schedules() = again;
  // A crash after a serialization: not forced by its schedule, not emitted.
  pb::ExploredSchedule tail = r.schedules(0);
  tail.set_index(11);
  tail.set_serialized(true);
  tail.mutable_point()->set_line(99);
  tail.mutable_schedule(0)->mutable_hold()->mutable_at()->set_line("fs/xfs/xfs_file.c:99");
  *r.add_schedules() = tail;
  auto files = emit_scenarios(r, base_scenario(), dir_ / "out" / "emitted");
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 2u);
  const pb::ExploredSchedule* from[] = {&r.schedules(0), &r.schedules(9)};
  EXPECT_EQ((*files)[0], dir_ / "out" / "emitted" /
                             "xfs-dax-flip-vs-write-fault-faulter-__xfs_filemap_fault-10-v1.textproto");
  EXPECT_EQ((*files)[1], dir_ / "out" / "emitted" /
                             "xfs-dax-flip-vs-write-fault-flipper-xfs_fileattr_set-32-v1.textproto");
  for (size_t i = 0; i < files->size(); ++i) {
    auto loaded = scenario::load_scenario((*files)[i]);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    const pb::Scenario& s = loaded->scenario;
    EXPECT_EQ(s.name(), (*files)[i].stem().string());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(s.explore(), base_scenario().explore()))
        << "the window stays: explored points are named in it";
    EXPECT_EQ(s.description(), "write fault vs DAX flip");
    EXPECT_EQ(s.workload().actors_size(), 2);
    EXPECT_EQ(s.expect().oops(0).function(), "iomap_page_mkwrite");
    ASSERT_EQ(s.schedule_size(), from[i]->schedule_size());
    for (int k = 0; k < s.schedule_size(); ++k)
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(s.schedule(k), from[i]->schedule(k))) << k;
    auto text = read_file((*files)[i]);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(text->rfind("# proto-file: proto/racerig.proto\n# proto-message: racerig.pb.Scenario\n", 0), 0u);
    EXPECT_NE(text->find("# Written by `racerig explore` from scenario \"xfs-dax-flip-vs-write-fault\" on kernel "
                         "buggy (build abc123):\n"),
              std::string::npos)
        << *text;
    EXPECT_NE(text->find("; held at " + point_name(from[i]->point()) + " (schedule " +
                         std::to_string(from[i]->index()) + ").\n# Verdict there: REPRODUCED: REPRODUCED at "),
              std::string::npos)
        << *text;
  }
}

TEST_F(Scratch, EmitNamesAreSanitizedAndNeverRepeat) {
  pb::ExploredSchedule s = schedule(0, point("a b", "f/../x y", "x.c", 7, 3), "b", pb::REPRODUCED);
  EXPECT_EQ(scenario_file_name("../sc n", s), "_._sc_n-a_b-f_.._x_y-7-v3.textproto");
  EXPECT_LE(scenario_file_name(std::string(500, 'n'), s).size(), 200u + std::string(".textproto").size());

  // Same held actor and point, another runner (other steps): a second name.
  pb::Scenario base = base_scenario();
  auto* third = base.mutable_workload()->add_actors();
  third->set_name("reader");
  third->set_cpu(2);
  third->add_ops()->mutable_fsync()->set_path("/mnt/foo");
  pb::ExploreReport r;
  r.set_scenario(base.name());
  pb::ExplorePoint p = point("faulter", "__xfs_filemap_fault", kXfsFile, 10, 1);
  *r.add_schedules() = schedule(0, p, "flipper", pb::REPRODUCED);
  *r.add_schedules() = schedule(1, p, "reader", pb::REPRODUCED);
  auto files = emit_scenarios(r, base, dir_);
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].filename(), "xfs-dax-flip-vs-write-fault-faulter-__xfs_filemap_fault-10-v1.textproto");
  EXPECT_EQ((*files)[1].filename(), "xfs-dax-flip-vs-write-fault-faulter-__xfs_filemap_fault-10-v1-2.textproto");
  for (const auto& f : *files) EXPECT_TRUE(scenario::load_scenario(f).ok()) << f;
}

TEST_F(Scratch, EmitWritesNothingWithoutAReproductionAndRefusesABadSchedule) {
  pb::ExploreReport r = sample_report();
  r.mutable_schedules(0)->set_verdict(pb::NOT_REPRODUCED);
  r.mutable_schedules(9)->set_verdict(pb::OTHER_OOPS);
  auto none = emit_scenarios(r, base_scenario(), dir_ / "none");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(fs::exists(dir_ / "none"));

  // A schedule rig/scenario rejects (an actor the workload lacks) is an error.
  pb::ExploreReport bad = sample_report();
  bad.mutable_schedules(0)->mutable_schedule(1)->mutable_hold()->set_actor("ghost");
  auto refused = emit_scenarios(bad, base_scenario(), dir_ / "bad");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kInput);
  EXPECT_NE(refused.error().message.find("does not load"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("unknown actor \"ghost\""), std::string::npos) << refused.error().message;
  EXPECT_TRUE(fs::is_empty(dir_ / "bad")) << "the file that does not load is not left behind";
}

}  // namespace
}  // namespace racerig::explore
