// A sample explore report for tests (test-only header): two directions,
// every outcome, a missing source file, a traced point no schedule held,
// schedules out of trace order, and a reason that is markup. The map's
// tests (rig/explore) and the page's (rig/report) both read it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/file.h"

namespace racerig::explore::testing {

inline constexpr char kXfsFile[] = "fs/xfs/xfs_file.c";
inline constexpr char kIoctl[] = "fs/xfs/xfs_ioctl.c";
inline constexpr char kInjection[] = "<script>alert(1)</script>";

inline pb::ExplorePoint point(const std::string& actor, const std::string& function, const std::string& file,
                              int line, int visit) {
  pb::ExplorePoint p;
  p.set_actor(actor);
  p.set_function(function);
  p.set_file(file);
  p.set_line(static_cast<uint32_t>(line));
  p.set_visit(static_cast<uint32_t>(visit));
  return p;
}

// The steps explore writes: park the runner, hold `held` at the point, run
// the runner to its end, release.
inline void add_steps(pb::ExploredSchedule* s) {
  const pb::ExplorePoint& p = s->point();
  auto* park = s->add_schedule()->mutable_run();
  park->set_actor(s->runner());
  park->mutable_until()->set_symbol(s->runner() == "flipper" ? "xfs_fileattr_set" : "__xfs_filemap_fault");
  auto* hold = s->add_schedule()->mutable_hold();
  hold->set_actor(s->held());
  hold->mutable_at()->set_line(p.file() + ":" + std::to_string(p.line()));
  hold->set_visit(p.visit());
  auto* run = s->add_schedule()->mutable_run();
  run->set_actor(s->runner());
  run->set_until_done(true);
  s->add_schedule()->mutable_release()->set_actor(s->held());
}

inline pb::ExploredSchedule schedule(int index, const pb::ExplorePoint& p, const std::string& runner,
                                     pb::Verdict v, bool serialized = false, double ms = 100) {
  pb::ExploredSchedule s;
  s.set_index(index);
  s.set_held(p.actor());
  *s.mutable_point() = p;
  s.set_runner(runner);
  s.set_verdict(v);
  s.set_serialized(serialized);
  s.set_reason(std::string(pb::Verdict_Name(v)) + " at schedule " + std::to_string(index));
  s.set_wall_ms(ms);
  add_steps(&s);
  return s;
}

// Two directions, every outcome, a missing source file, a traced point no
// schedule held, schedules out of trace order in the report.
inline pb::ExploreReport sample_report() {
  pb::ExploreReport r;
  r.set_scenario("xfs-dax-flip-vs-write-fault");
  r.set_kernel_variant("buggy");
  r.set_kernel_build_id("abc123");
  r.add_window("__xfs_filemap_fault");
  r.set_window_addresses(42);
  const std::string fault = "__xfs_filemap_fault", set = "xfs_fileattr_set";
  std::vector<pb::ExplorePoint> f = {
      point("faulter", fault, kXfsFile, 10, 1), point("faulter", fault, kXfsFile, 11, 1),
      point("faulter", fault, kXfsFile, 12, 1), point("faulter", fault, kXfsFile, 12, 2),
      point("faulter", fault, kXfsFile, 13, 1), point("faulter", fault, kXfsFile, 14, 1),
      point("faulter", fault, kXfsFile, 20, 1), point("faulter", "inode_lock", "include/linux/fs.h", 5, 1)};
  std::vector<pb::ExplorePoint> g = {point("flipper", set, kIoctl, 30, 1), point("flipper", set, kIoctl, 31, 1),
                                     point("flipper", set, kIoctl, 32, 1)};
  for (const auto& p : f) *r.add_trace() = p;
  for (const auto& p : g) *r.add_trace() = p;
  auto add = [&](const pb::ExploredSchedule& s) { *r.add_schedules() = s; };
  add(schedule(0, f[0], "flipper", pb::REPRODUCED, false, 105));
  add(schedule(1, f[1], "flipper", pb::DEADLOCK));
  add(schedule(2, f[2], "flipper", pb::NOT_REPRODUCED, true));
  add(schedule(4, f[4], "flipper", pb::NOT_REPRODUCED));  // before 3 in the report, after it in the trace
  add(schedule(3, f[3], "flipper", pb::NOT_REPRODUCED));
  // f[5] (line 14) is traced but no schedule held there.
  add(schedule(5, f[6], "flipper", pb::SCHEDULE_NOT_REACHED));
  add(schedule(6, f[7], "flipper", pb::STALLED, false, 60000));
  pb::ExploredSchedule oops = schedule(7, g[0], "faulter", pb::OTHER_OOPS);
  oops.set_reason(std::string("oops in ") + kInjection + " & more");
  add(oops);
  add(schedule(8, g[1], "faulter", pb::INFRA_ERROR));
  add(schedule(9, g[2], "faulter", pb::REPRODUCED));
  r.set_reproduced(2);
  r.set_total(12);
  r.set_trace_ms(1234);
  r.set_total_ms(56789);
  return r;
}

// A scratch directory removed at the end of the test, and a kernel source
// tree in it for the sample report's points.
class SampleSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("racerig-explore-sample-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::filesystem::path& rel, const std::string& text) {
    std::filesystem::create_directories((dir_ / rel).parent_path());
    ASSERT_TRUE(write_file(dir_ / rel, text).ok());
  }
  // A source tree with xfs_file.c and xfs_ioctl.c (lines "<name> line N"),
  // one line of xfs_file.c carrying HTML.
  std::filesystem::path source_tree() {
    std::string file, ioctl;
    for (int i = 1; i <= 40; ++i) {
      file += i == 11 ? std::string("\tif (a < b && c > \"d\") </span>") + kInjection + "\n"
                      : "xfs_file line " + std::to_string(i) + "\n";
      ioctl += "xfs_ioctl line " + std::to_string(i) + "\n";
    }
    write(std::filesystem::path("src") / kXfsFile, file);
    write(std::filesystem::path("src") / kIoctl, ioctl);
    return dir_ / "src";
  }
  std::filesystem::path dir_;
};

}  // namespace racerig::explore::testing
