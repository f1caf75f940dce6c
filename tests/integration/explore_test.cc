// End-to-end: `racerig explore` and the exploring `validate` against real
// 6.1 kernels under QEMU (TCG), and the engine's issue-22 behaviours on a
// real guest: a held vCPU answering the TLB shootdown of the running actor,
// and an actor that exits before its hold point ending the run at once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "proto/racerig.pb.h"
#include "reports.h"
#include "support.h"

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers
namespace pb = racerig::pb;

std::string temp_json(const std::string& name) { return racerig::test::temp_json("explore", name); }

std::string data(const std::string& file) { return std::string(RACERIG_SOURCE_DIR) + "/tests/integration/data/" + file; }

// fs/xfs/xfs_file.c of stock 6.1 (buggy changes only xfs_ioctl.c), from the
// tarball the kernels are built from: the test reads its line numbers from
// the tree instead of hard-coding them.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> xfs_file_c_6_1() {
  return lines_of(run_shell("tar -xJOf /usr/src/linux-source-6.1.tar.xz linux-source-6.1/fs/xfs/xfs_file.c").output);
}

// fs/xfs/xfs_file.c of 6.1 with a candidate patch applied (the candidates
// that touch xfs_file.c change nothing else that the test reads).
std::vector<std::string> xfs_file_c_6_1_with(const std::string& patch) {
  const auto dir = std::filesystem::temp_directory_path() / ("racerig-explore-it-src-" + std::to_string(getpid()));
  Ran r = run_shell("rm -rf " + dir.string() + " && mkdir -p " + dir.string() + "/fs/xfs && tar -xJOf " +
                    "/usr/src/linux-source-6.1.tar.xz linux-source-6.1/fs/xfs/xfs_file.c > " + dir.string() +
                    "/fs/xfs/xfs_file.c && patch -s -p1 -d " + dir.string() + " < " + patch + " && cat " +
                    dir.string() + "/fs/xfs/xfs_file.c");
  std::filesystem::remove_all(dir);
  if (r.exit_code != 0) return {};
  return lines_of(r.output);
}

// The 1-based number of the first line at or after `from` containing `text`; 0 if none.
int line_of(const std::vector<std::string>& lines, const std::string& text, int from) {
  for (int i = from; i <= static_cast<int>(lines.size()); ++i)
    if (lines[static_cast<size_t>(i - 1)].find(text) != std::string::npos) return i;
  return 0;
}

// The faulter-held schedules whose point stands for `file:line` (one of the
// statements that start at the point's addresses).
std::vector<const pb::ExploredSchedule*> faulter_held_at(const pb::ExploreReport& m, int line) {
  std::vector<const pb::ExploredSchedule*> out;
  const std::string want = "fs/xfs/xfs_file.c:" + std::to_string(line);
  for (const auto& s : m.schedules()) {
    if (s.held() != "faulter") continue;
    for (const auto& st : s.point().statements())
      if (st == want) out.push_back(&s);
  }
  return out;
}

// What holding the faulter at each line of __xfs_filemap_fault showed by
// hand (issue 22): before the MMAPLOCK the flipper's whole flag change
// fits in and the fault crashes; at the DAX fault, under the MMAPLOCK, the
// flipper sleeps on it.
TEST(Explore, TheMapOfBuggyMatchesWhatHoldsAtEachLineShowedByHand) {
  const auto src = xfs_file_c_6_1();
  ASSERT_GT(src.size(), 1000u) << "could not read xfs_file.c from /usr/src/linux-source-6.1.tar.xz";
  const int fn = line_of(src, "__xfs_filemap_fault(", 1);
  ASSERT_GT(fn, 0);
  const int trace = line_of(src, "trace_xfs_filemap_fault(ip", fn);
  const int if_write = line_of(src, "if (write_fault) {", trace);
  const int sb_start = line_of(src, "sb_start_pagefault", if_write);
  const int update_time = line_of(src, "file_update_time", sb_start);
  const int if_dax = line_of(src, "if (IS_DAX(inode) || write_fault)", update_time);
  const int ilock = line_of(src, "xfs_ilock_for_write_fault(XFS_I(inode))", if_dax);
  const int dax_fault = line_of(src, "ret = xfs_dax_fault(", ilock);
  ASSERT_TRUE(trace && if_write && sb_start && update_time && if_dax && ilock && dax_fault);

  const std::string json = temp_json("buggy");
  const std::filesystem::path emitted =
      std::filesystem::temp_directory_path() / ("racerig-explore-it-" + std::to_string(getpid()) + "-emitted");
  Ran r = run_cli("explore --scenario xfs-dax-flip-vs-write-fault --kernel buggy --json " + json +
                  " --emit-scenarios " + emitted.string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto m = read_report<pb::ExploreReport>(json);
  ASSERT_TRUE(m.error().empty()) << m.error();
  EXPECT_NE(r.output.find("faulter held, flipper runs"), std::string::npos) << r.output;
  for (int line : {trace, if_write, sb_start, update_time, if_dax, ilock}) {
    const auto held = faulter_held_at(m, line);
    ASSERT_FALSE(held.empty()) << "no explored point stands for xfs_file.c:" << line << "\n" << r.output;
    for (const auto* s : held)
      EXPECT_EQ(s->verdict(), pb::REPRODUCED) << "xfs_file.c:" << line << ": " << s->reason();
  }
  const auto at_dax = faulter_held_at(m, dax_fault);
  ASSERT_FALSE(at_dax.empty()) << "no explored point stands for xfs_file.c:" << dax_fault << "\n" << r.output;
  for (const auto* s : at_dax) {
    EXPECT_TRUE(s->serialized()) << "xfs_file.c:" << dax_fault << ": " << s->reason();
    ASSERT_GE(s->run().blocked_size(), 1);
    EXPECT_EQ(s->run().blocked(0).actor(), "flipper");
    EXPECT_NE(s->run().blocked(0).where().find("xfs_ilock"), std::string::npos) << s->run().blocked(0).where();
  }
  // Both directions were explored, each actor traced on its own.
  std::set<std::string> held;
  for (const auto& s : m.schedules()) held.insert(s.held());
  EXPECT_EQ(held, (std::set<std::string>{"faulter", "flipper"}));
  EXPECT_EQ(m.trace_runs_size(), 2);
  // An emitted schedule is a ready scenario: the faulter held at the
  // trace_xfs_filemap_fault line's point reproduces on its own.
  std::string at_trace;
  for (const auto& e : std::filesystem::directory_iterator(emitted))
    if (e.path().filename().string().find("faulter-__xfs_filemap_fault-" + std::to_string(if_write)) !=
        std::string::npos)
      at_trace = e.path().string();
  ASSERT_FALSE(at_trace.empty()) << "no emitted scenario for xfs_file.c:" << if_write;
  const std::string again = temp_json("emitted");
  Ran rerun = run_cli("reproduce --scenario " + at_trace + " --kernel buggy --runs 1 --json " + again);
  EXPECT_EQ(rerun.exit_code, 0) << rerun.output;
  const auto rr = read_report<pb::ReproduceReport>(again);
  ASSERT_EQ(rr.runs_size(), 1) << rerun.output;
  EXPECT_EQ(rr.runs(0).verdict(), pb::REPRODUCED) << rr.runs(0).reason();
  EXPECT_TRUE(rr.runs(0).schedule_enforced());
  std::filesystem::remove_all(emitted);
}

TEST(Explore, NoPointReproducesOnTheFixedKernel) {
  const std::string json = temp_json("fixed");
  Ran r = run_cli("explore --scenario xfs-dax-flip-vs-write-fault --kernel fixed --json " + json);
  EXPECT_EQ(r.exit_code, 1) << "exit 1: no schedule reproduced\n" << r.output;
  const auto m = read_report<pb::ExploreReport>(json);
  ASSERT_TRUE(m.error().empty()) << m.error();
  ASSERT_GT(m.schedules_size(), 20) << r.output;
  for (const auto& s : m.schedules()) {
    EXPECT_TRUE(s.verdict() == pb::NOT_REPRODUCED || s.verdict() == pb::SCHEDULE_NOT_REACHED)
        << s.index() << " " << s.held() << " at " << s.point().function() << ":" << s.point().line() << ": "
        << s.reason();
    if (s.verdict() == pb::NOT_REPRODUCED) {
      EXPECT_TRUE(s.run().schedule_enforced() || s.serialized()) << "a pass needs proof: " << s.reason();
    }
  }
  EXPECT_NE(r.output.find("no point reproduced"), std::string::npos) << r.output;
}

// The exploring validate of each candidate is in cli_test (OnEachBase);
// here, --no-explore keeps the scenario's own schedule alone.
TEST(Explore, NoExploreJudgesOnTheScenariosOwnScheduleAlone) {
  const std::string single = temp_json("validate-upstream-single");
  Ran r = run_cli("validate --no-explore --patch " + candidate("upstream-defer-dax-change-to-eviction.patch") +
                  " --scenario xfs-dax-flip-vs-write-fault --runs 1 --json " + single);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto plain = read_report<pb::ValidateReport>(single);
  ASSERT_EQ(plain.scenarios_size(), 1);
  EXPECT_EQ(plain.scenarios(0).result(), pb::FIXED) << plain.scenarios(0).reason();
  EXPECT_EQ(plain.scenarios(0).control_map().schedules_size(), 0);
  EXPECT_EQ(plain.scenarios(0).patched_map().schedules_size(), 0);
  EXPECT_EQ(r.output.find("schedule 1 of"), std::string::npos) << "nothing explored: " << r.output;
}

// The IPI: the faulter held after its fault, in the kernel, its mm live on
// vCPU 0; the flipper's writeback flushes that mm's TLB on every CPU. Before
// issue 22: STALLED in smp_call_function_many_cond.
TEST(Explore, AHeldVcpuAnswersTheRunningActorsTlbShootdown) {
  const std::string json = temp_json("ipi");
  Ran r = run_cli("reproduce --scenario " + data("ipi-while-held.textproto") + " --kernel buggy --runs 1 --json " + json);
  const auto report = read_report<pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  const auto& run = report.runs(0);
  EXPECT_NE(run.verdict(), pb::STALLED) << run.reason();
  EXPECT_TRUE(run.schedule_enforced()) << run.reason();
  int serviced = 0;
  for (const auto& e : run.events())
    if (e.what() == "serviced" && e.actor() == "faulter") ++serviced;
  EXPECT_GT(serviced, 0) << "the held vCPU answered no interrupt: " << run.reason();
  bool returned = false;
  for (const auto& e : run.events()) returned |= e.what() == "returned" && e.actor() == "flipper";
  EXPECT_TRUE(returned) << "the flipper finished its flag change while the faulter was held";
}

// The lock-only candidate moves the window instead of closing it: once the
// faulter dropped the MMAPLOCK, the flipper's writeback write-protects the
// DAX pte the fault just installed, and the faulter's next store faults in
// the new mode. Depth 1 cannot force that (run to its end, the flipper also
// zaps the pte); depth 2 holds the faulter after the unlock, runs the
// flipper to a point between its writeback and its invalidation, then lets
// the faulter finish. NOT_FIXED on every invocation, naming that point.
TEST(Explore, DepthTwoFailsTheLockOnlyCandidateOnEveryInvocationAfterTheUnlock) {
  const auto src = xfs_file_c_6_1_with(candidate("serialize-mmaplock-lock-only.patch"));
  ASSERT_GT(src.size(), 1000u) << "could not patch xfs_file.c of 6.1 with the lock-only candidate";
  const int fn = line_of(src, "__xfs_filemap_fault(", 1);
  const int unlock = line_of(src, "xfs_iunlock(XFS_I(inode), lock_mode);", fn);
  const int caller = line_of(src, "xfs_filemap_fault(", unlock);
  const int dax_return = line_of(src, "return __xfs_filemap_fault(vmf, PE_SIZE_PTE, true, lock_mode);", caller);
  ASSERT_TRUE(fn && unlock && caller && dax_return) << fn << " " << unlock << " " << caller << " " << dax_return;
  // After the unlock: the rest of __xfs_filemap_fault, or xfs_filemap_fault
  // once that DAX fault returned.
  auto after_unlock = [&](const pb::ExplorePoint& p) {
    if (p.file() != "fs/xfs/xfs_file.c") return false;
    if (p.function() == "__xfs_filemap_fault") return static_cast<int>(p.line()) > unlock;
    return p.function() == "xfs_filemap_fault" && static_cast<int>(p.line()) >= dax_return;
  };
  for (int invocation = 1; invocation <= 3; ++invocation) {
    SCOPED_TRACE("invocation " + std::to_string(invocation));
    const std::string json = temp_json("lock-only-" + std::to_string(invocation));
    Ran r = run_cli("validate --patch " + candidate("serialize-mmaplock-lock-only.patch") +
                    " --scenario xfs-dax-flip-vs-write-fault --runs 1 --depth 2 --json " + json);
    EXPECT_EQ(r.exit_code, 1) << "exit 1: NOT_FIXED\n" << r.output;
    const auto report = read_report<pb::ValidateReport>(json);
    ASSERT_EQ(report.scenarios_size(), 1) << r.output;
    const auto& v = report.scenarios(0);
    EXPECT_EQ(v.result(), pb::NOT_FIXED) << v.reason();
    const auto& m = v.patched_map();
    EXPECT_EQ(m.depth(), 2u);
    const pb::ExploredSchedule* hit = nullptr;
    for (const auto& s : m.schedules())
      if (s.depth() == 2 && s.verdict() == pb::REPRODUCED && s.held() == "faulter" && after_unlock(s.point()))
        hit = &s;
    ASSERT_NE(hit, nullptr) << "no depth-2 failure with the faulter held after the unlock (line " << unlock
                            << "): " << v.reason();
    EXPECT_EQ(hit->runner(), "flipper");
    EXPECT_TRUE(m.depth2_stopped_at_failure()) << "one failure is all NOT_FIXED needs";
    EXPECT_LT(m.depth2_planned(), m.depth2_candidates()) << "depth 1 pruned nothing";
    EXPECT_NE(v.reason().find(hit->point().function() + " fs/xfs/xfs_file.c:" + std::to_string(hit->point().line())),
              std::string::npos)
        << "the verdict names the point after the unlock: " << v.reason();
    EXPECT_NE(hit->run().oops().headline().find("NULL pointer"), std::string::npos) << hit->run().oops().headline();
  }
}

// Schedules on two VMs at once, each restored from the same cached
// snapshot: the same schedules, in index order, with the same verdicts where
// the schedule forced one (serialized tails may differ between any two runs).
TEST(Explore, SchedulesOnTwoVmsAtOnceAgreeWithOneVm) {
  std::map<int, pb::ExploreReport> maps;
  for (int vms : {1, 2}) {
    const std::string json = temp_json("vms-" + std::to_string(vms));
    Ran r = run_cli("explore --scenario xfs-dax-flip-vs-write-fault --kernel buggy --max-schedules 8 --vms " +
                    std::to_string(vms) + " --json " + json);
    EXPECT_EQ(r.exit_code, 0) << "the first points of buggy reproduce\n" << r.output;
    maps[vms] = read_report<pb::ExploreReport>(json);
    ASSERT_TRUE(maps[vms].error().empty()) << maps[vms].error();
    EXPECT_EQ(maps[vms].vms(), static_cast<uint32_t>(vms)) << r.output;
    ASSERT_EQ(maps[vms].schedules_size(), 8) << r.output;
    for (int i = 0; i < 8; ++i) EXPECT_EQ(maps[vms].schedules(i).index(), i + 1) << "in index order";
  }
  int forced = 0;
  for (int i = 0; i < 8; ++i) {
    const auto& one = maps[1].schedules(i);
    const auto& two = maps[2].schedules(i);
    EXPECT_EQ(one.held() + " " + one.point().ShortDebugString(), two.held() + " " + two.point().ShortDebugString());
    if (one.serialized() || two.serialized()) continue;
    ++forced;
    EXPECT_EQ(one.verdict(), two.verdict()) << "schedule " << i + 1 << ": " << one.reason() << " | " << two.reason();
  }
  EXPECT_GT(forced, 0) << "no forced schedule to compare";
}

TEST(Explore, AnActorThatExitsBeforeItsHoldPointIsNotReachedAtOnce) {
  const std::string json = temp_json("exits");
  Ran r = run_cli("reproduce --scenario " + data("exits-before-its-point.textproto") +
                  " --kernel buggy --runs 1 --json " + json);
  EXPECT_NE(r.exit_code, 0) << r.output;
  const auto report = read_report<pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  const auto& run = report.runs(0);
  EXPECT_EQ(run.verdict(), pb::SCHEDULE_NOT_REACHED) << run.reason();
  // Seen either way: its task gone (the VM stopped first) or the agent's
  // report that it finished (the agent ran first).
  const bool exited = run.reason().find("writer exited without reaching xfs_file_remap_range") != std::string::npos;
  const bool finished =
      run.reason().find("writer finished its operations without reaching xfs_file_remap_range") != std::string::npos;
  EXPECT_TRUE(exited || finished) << run.reason();
  EXPECT_NE(run.reason().find("flipper parked early at xfs_fileattr_set"), std::string::npos) << run.reason();
}

}  // namespace
