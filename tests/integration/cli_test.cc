// End-to-end: the racerig CLI against real kernels under QEMU (TCG). These
// read as the product's specification: the seed's race reproduces on buggy,
// does not on fixed with the schedule proven enforced, a hold point that is
// never reached is inconclusive, and bad input fails before anything boots.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "proto/racerig.pb.h"

namespace {

struct Ran {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

Ran run_cli(const std::string& args) {
  // The checkout under test, also for a build dir outside it.
  std::string cmd = "RACERIG_ROOT='" + std::string(RACERIG_SOURCE_DIR) + "' " + std::string(RACERIG_BIN) + " " + args + " 2>&1";
  Ran r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("racerig-it-" + std::to_string(getpid()) + "-" + name)).string();
}

template <typename M>
M read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  M m;
  auto st = google::protobuf::util::JsonStringToMessage(text.str(), &m);
  EXPECT_TRUE(st.ok()) << st.message() << " in " << path;
  std::filesystem::remove(path);
  return m;
}

std::string data(const std::string& file) { return std::string(RACERIG_SOURCE_DIR) + "/tests/integration/data/" + file; }

bool has_event(const racerig::pb::RunReport& r, const std::string& what, const std::string& actor) {
  for (const auto& e : r.events())
    if (e.what() == what && e.actor() == actor) return true;
  return false;
}

// Both ways of restoring the ready state give the same verdicts.
class Restore : public testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Reproduce, Restore, testing::Values("incoming", "loadvm"));

TEST_P(Restore, TheSeedRaceCrashesBuggyOnEveryRun) {
  std::string json = temp_path("buggy.json");
  // From the ready-state snapshot (the default): every run restored.
  Ran r = run_cli("reproduce --scenario xfs-dax-flip-vs-write-fault --kernel buggy --runs 3 --restore " + GetParam() +
                  " --json " + json);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 3) << r.output;
  EXPECT_EQ(report.reproduced(), 3);
  for (const auto& run : report.runs()) {
    EXPECT_TRUE(run.from_snapshot());
    EXPECT_EQ(run.restore_method(), GetParam());
    EXPECT_GT(run.time_to_oops_ms(), 0);
    EXPECT_EQ(run.verdict(), racerig::pb::REPRODUCED) << run.reason();
    EXPECT_TRUE(run.schedule_enforced()) << run.reason();
    EXPECT_EQ(run.oops().kind(), "BUG");
    EXPECT_NE(run.oops().headline().find("NULL pointer dereference"), std::string::npos);
    EXPECT_EQ(run.oops().rip().function(), "iomap_page_mkwrite");
    EXPECT_FALSE(run.oops().rip().file().empty()) << "RIP decoded to file:line";
    bool via_xfs = false;
    for (const auto& f : run.oops().trace()) via_xfs = via_xfs || f.function() == "__xfs_filemap_fault";
    EXPECT_TRUE(via_xfs);
    EXPECT_TRUE(has_event(run, "held", "faulter"));
    EXPECT_TRUE(has_event(run, "returned", "flipper"));
  }
  EXPECT_NE(r.output.find("3/3 reproduced"), std::string::npos) << r.output;
}

TEST(Reproduce, ColdRunsBootForEveryRunAndGiveTheSameVerdicts) {
  for (std::string kernel : {"buggy", "fixed"}) {
    std::string json = temp_path(kernel + "-cold.json");
    Ran r = run_cli("reproduce --cold --scenario xfs-dax-flip-vs-write-fault --kernel " + kernel + " --runs 1 --json " + json);
    EXPECT_EQ(r.exit_code, kernel == "buggy" ? 0 : 1) << r.output;
    auto report = read_json<racerig::pb::ReproduceReport>(json);
    ASSERT_EQ(report.runs_size(), 1) << r.output;
    const auto& run = report.runs(0);
    EXPECT_FALSE(run.from_snapshot());
    EXPECT_EQ(run.verdict(), kernel == "buggy" ? racerig::pb::REPRODUCED : racerig::pb::NOT_REPRODUCED) << run.reason();
    EXPECT_TRUE(run.schedule_enforced());
    bool booted = false;
    for (const auto& t : run.timings()) booted = booted || t.phase() == "boot";
    EXPECT_TRUE(booted);
    // The NVDIMM started from the cached template: fsdax already, no mkfs.
    bool from_template = false, mkfs = false;
    for (const auto& e : run.agent()) {
      if (e.kind() != racerig::pb::AgentEvent::SETUP) continue;
      if (e.message().find("(template image)") != std::string::npos && e.fs_type() == "xfs" &&
          e.namespace_mode() == "fsdax")
        from_template = true;
      if (e.message().find("mkfs") != std::string::npos) mkfs = true;
    }
    EXPECT_TRUE(from_template) << r.output;
    EXPECT_FALSE(mkfs);
  }
}

TEST_P(Restore, TheSameScheduleOnFixedIsEnforcedAndDoesNotCrash) {
  std::string json = temp_path("fixed.json");
  Ran r = run_cli("reproduce --scenario xfs-dax-flip-vs-write-fault --kernel fixed --runs 2 --restore " + GetParam() +
                  " --json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 2) << r.output;
  for (const auto& run : report.runs()) {
    EXPECT_EQ(run.restore_method(), GetParam());
    EXPECT_EQ(run.verdict(), racerig::pb::NOT_REPRODUCED) << run.reason() << "\n" << r.output;
    EXPECT_TRUE(run.schedule_enforced());
    EXPECT_TRUE(has_event(run, "held", "faulter"));
    EXPECT_TRUE(has_event(run, "returned", "flipper"));
    bool wrote = false;
    int checks_ok = 0;
    for (const auto& e : run.agent()) {
      if (e.kind() == racerig::pb::AgentEvent::OP_OK && e.actor() == "faulter" && e.op() == "mmap_write") wrote = true;
      if (e.kind() == racerig::pb::AgentEvent::OP_OK && e.op() == "pread") ++checks_ok;
    }
    EXPECT_TRUE(wrote) << "the faulter finished its write";
    EXPECT_EQ(checks_ok, 2) << "the data was read back correctly";
  }
}

// A run that wrote the NVDIMM (through DAX, straight to the device) leaves
// nothing behind: the next run's guest reads the ready state's bytes.
TEST_P(Restore, NvdimmWritesOfARunAreGoneInTheNext) {
  std::string json = temp_path("leak.json");
  Ran r = run_cli("reproduce --scenario " + data("nvdimm-writes-do-not-leak.textproto") +
                  " --kernel buggy --runs 3 --restore " + GetParam() + " --json " + json);
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 3) << r.output;
  EXPECT_EQ(report.reproduced(), 0) << "a data check failed: a run saw an earlier run's writes\n" << r.output;
  for (const auto& run : report.runs()) {
    EXPECT_EQ(run.restore_method(), GetParam());
    EXPECT_NE(run.verdict(), racerig::pb::INFRA_ERROR) << run.reason();
    int ready_bytes_seen = 0, own_bytes_seen = 0, failed = 0;
    bool done = false;
    for (const auto& e : run.agent()) {
      if (e.kind() == racerig::pb::AgentEvent::OP_FAILED) {
        ++failed;
        ADD_FAILURE() << "run " << run.run() << ": " << e.ShortDebugString();
      }
      if (e.kind() == racerig::pb::AgentEvent::OP_OK && e.op() == "pread")
        ++(e.actor() == "writer" ? ready_bytes_seen : own_bytes_seen);
      if (e.kind() == racerig::pb::AgentEvent::DONE) done = true;
    }
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(ready_bytes_seen, 1) << "run " << run.run() << " read the ready state's 0x11 bytes";
    EXPECT_EQ(own_bytes_seen, 2) << "run " << run.run() << " read back its own writes";
    EXPECT_TRUE(done) << run.reason();
  }
}

TEST(Reproduce, AHoldPointNeverReachedIsInconclusive) {
  std::string json = temp_path("never.json");
  Ran r = run_cli("reproduce --scenario " + data("never-reached.textproto") + " --kernel fixed --json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  EXPECT_EQ(report.runs(0).verdict(), racerig::pb::SCHEDULE_NOT_REACHED) << report.runs(0).reason();
  EXPECT_FALSE(report.runs(0).schedule_enforced());
  EXPECT_NE(report.runs(0).reason().find("xfs_file_fallocate"), std::string::npos) << report.runs(0).reason();
}

TEST(Reproduce, AnUnknownSymbolIsAnInputErrorWithFileAndLine) {
  Ran r = run_cli("reproduce --scenario " + data("unknown-symbol.textproto") + " --kernel fixed");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown-symbol.textproto:9:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("__xfs_filemap_fault"), std::string::npos) << "suggests the near name: " << r.output;
  EXPECT_EQ(r.output.find("booting"), std::string::npos) << "nothing booted";
}

TEST(Guest, BuggySwitchesDaxOnTheLiveInodeAndFixedDoesNot) {
  for (std::string kernel : {"buggy", "fixed"}) {
    std::string json = temp_path(kernel + "-guest.json");
    Ran r = run_cli("guest run --kernel " + kernel + " --workload " + std::string(RACERIG_SOURCE_DIR) +
                    "/workloads/dax-flag-live-switch.textproto --json " + json);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    auto report = read_json<racerig::pb::RunReport>(json);
    bool setup_ok = false, dax_before = false;
    int after_clear = -1;
    for (const auto& e : report.agent()) {
      if (e.kind() == racerig::pb::AgentEvent::SETUP && e.fs_type() == "xfs") {
        setup_ok = e.mount_source() == "/dev/pmem0" && e.namespace_mode() == "fsdax";
      }
      if (e.op() == "report_dax" && e.actor() == "prepare") dax_before = e.statx_dax() && e.xflag_dax();
      if (e.op() == "report_dax" && e.actor() == "switcher") after_clear = e.statx_dax() ? 1 : 0;
    }
    EXPECT_TRUE(setup_ok) << kernel << ": /mnt is XFS on fsdax pmem\n" << r.output;
    EXPECT_TRUE(dax_before) << kernel << ": a file with FS_XFLAG_DAX has STATX_ATTR_DAX\n" << r.output;
    EXPECT_EQ(after_clear, kernel == "buggy" ? 0 : 1)
        << kernel << ": clearing the flag on an open file takes effect at once only on buggy\n"
        << r.output;
  }
}

std::string candidate(const std::string& file) {
  return std::string(RACERIG_SOURCE_DIR) + "/kernels/patches/candidates/" + file;
}

// The stress baseline starts every run from one snapshot taken after guest
// set-up; the runs differ in the fsx seed sent with "go". On fixed nothing
// oopses, and no reason claims a schedule that was never there.
TEST(Stress, EveryRunStartsFromTheSnapshotWithItsOwnSeed) {
  std::string json = temp_path("stress.json");
  Ran r = run_cli("stress --kernel fixed --duration 2 --runs 2 --seed 11 --json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 2) << r.output;
  for (int i = 0; i < 2; ++i) {
    const auto& run = report.runs(i);
    EXPECT_TRUE(run.from_snapshot());
    EXPECT_EQ(run.seed(), 11u + static_cast<unsigned>(i));
    EXPECT_EQ(run.verdict(), racerig::pb::NOT_REPRODUCED) << run.reason();
    EXPECT_FALSE(run.schedule_enforced());
    EXPECT_NE(run.reason().find("unforced"), std::string::npos) << run.reason();
    bool fsx_ran_with_the_seed = false, flipped = false;
    for (const auto& e : run.agent()) {
      if (e.kind() != racerig::pb::AgentEvent::OP_OK) continue;
      if (e.op() == "fsx" && e.seed() == run.seed()) fsx_ran_with_the_seed = true;
      if (e.op() == "flip_loop") flipped = true;
    }
    EXPECT_TRUE(fsx_ran_with_the_seed) << r.output;
    EXPECT_TRUE(flipped) << r.output;
    bool restored = false, prepared = false;
    for (const auto& t : run.timings()) {
      restored = restored || t.phase() == "restore";
      prepared = prepared || t.phase() == "prepare";
    }
    EXPECT_TRUE(restored);
    EXPECT_EQ(prepared, i == 0) << "only the first run boots";
  }
}

TEST(Validate, TheUpstreamStyleFixIsFixed) {
  std::string json = temp_path("validate-upstream.json"), junit = temp_path("validate-upstream.xml");
  Ran r = run_cli("validate --patch " + candidate("upstream-defer-dax-change-to-eviction.patch") +
                  " --runs 2 --json " + json + " --junit " + junit);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto report = read_json<racerig::pb::ValidateReport>(json);
  ASSERT_EQ(report.scenarios_size(), 1) << r.output;
  const auto& s = report.scenarios(0);
  EXPECT_EQ(s.result(), racerig::pb::FIXED) << s.reason();
  EXPECT_EQ(s.control().runs_size(), 2);
  for (const auto& run : s.control().runs()) EXPECT_EQ(run.verdict(), racerig::pb::REPRODUCED) << run.reason();
  for (const auto& run : s.patched().runs()) {
    EXPECT_EQ(run.verdict(), racerig::pb::NOT_REPRODUCED) << run.reason();
    EXPECT_TRUE(run.schedule_enforced());
  }
  std::ifstream in(junit);
  std::stringstream xml;
  xml << in.rdbuf();
  EXPECT_NE(xml.str().find("<testcase"), std::string::npos) << xml.str();
  EXPECT_EQ(xml.str().find("<failure"), std::string::npos) << xml.str();
  std::filesystem::remove(junit);
  EXPECT_NE(r.output.find("FIXED"), std::string::npos) << "the table";
}

TEST(Validate, TheNaiveLockStillCrashes) {
  std::string json = temp_path("validate-naive.json");
  Ran r = run_cli("validate --patch " + candidate("naive-lock-is-dax-under-mmaplock.patch") + " --runs 2 --json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto report = read_json<racerig::pb::ValidateReport>(json);
  ASSERT_EQ(report.scenarios_size(), 1) << r.output;
  const auto& s = report.scenarios(0);
  EXPECT_EQ(s.result(), racerig::pb::NOT_FIXED) << s.reason();
  ASSERT_GT(s.patched().runs_size(), 0);
  EXPECT_EQ(s.patched().runs(0).oops().rip().function(), "iomap_page_mkwrite");
  EXPECT_NE(r.output.find("iomap_page_mkwrite"), std::string::npos) << "shows the oops: " << r.output;
}

TEST(Validate, APatchThatDoesNotCompileIsAnErrorWithTheCompilerMessage) {
  std::string json = temp_path("validate-cc.json");
  Ran r = run_cli("validate --patch " + data("does-not-compile.patch") + " --runs 1 --json " + json);
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(r.output.find("fs/xfs/xfs_stats.c:93:32: error: expected expression"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("full log: "), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("booting"), std::string::npos) << "nothing booted";
  auto report = read_json<racerig::pb::ValidateReport>(json);
  EXPECT_NE(report.error().find("expected expression"), std::string::npos) << report.error();
}

TEST(Validate, APatchThatDoesNotApplyNamesTheFileAndHunk) {
  Ran r = run_cli("validate --patch " + data("does-not-apply.patch") + " --runs 1");
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(r.output.find("does-not-apply.patch does not apply"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Hunk #1 FAILED at 1387"), std::string::npos) << r.output;
}

TEST(Validate, EmptyAndBinaryFilesAreInputErrors) {
  Ran empty = run_cli("validate --patch " + data("empty.patch"));
  EXPECT_EQ(empty.exit_code, 2) << empty.output;
  EXPECT_NE(empty.output.find("empty.patch is empty"), std::string::npos) << empty.output;
  Ran binary = run_cli("validate --patch " + data("binary.patch"));
  EXPECT_EQ(binary.exit_code, 2) << binary.output;
  EXPECT_NE(binary.output.find("binary"), std::string::npos) << binary.output;
  Ran missing = run_cli("validate --patch /nonexistent.patch");
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("/nonexistent.patch"), std::string::npos) << missing.output;
}

// Ctrl-C in the middle of a run: racerig stops QEMU and removes every run
// directory and socket before it exits.
TEST(Reproduce, InterruptedRunLeavesNothingBehind) {
  namespace fs = std::filesystem;
  const fs::path tmp = temp_path("tmpdir");
  fs::create_directories(tmp);
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], 2);
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::setenv("TMPDIR", tmp.c_str(), 1);
    ::setenv("RACERIG_ROOT", RACERIG_SOURCE_DIR, 1);
    ::execl(RACERIG_BIN, RACERIG_BIN, "reproduce", "--scenario", "xfs-dax-flip-vs-write-fault", "--kernel", "fixed",
            "--runs", "5", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  // Interrupt once QEMU runs (its gdbstub socket exists; bounded at 60 s).
  auto run_dirs = [&] {
    int count = 0;
    for (const auto& e : fs::directory_iterator(tmp))
      count += e.path().filename().string().rfind("racerig-run-", 0) == 0 && fs::exists(e.path() / "gdb.sock");
    return count;
  };
  bool running = false;
  for (int i = 0; i < 600 && !running; ++i) {
    running = run_dirs() > 0;
    if (!running) ::usleep(100000);
  }
  EXPECT_TRUE(running) << "no run directory appeared in " << tmp;
  ::kill(pid, SIGINT);
  std::string output;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status)) << "racerig died of a signal instead of cleaning up:\n" << output;
  if (WIFEXITED(status)) {
    EXPECT_EQ(WEXITSTATUS(status), 3) << output;
  }
  EXPECT_NE(output.find("interrupted"), std::string::npos) << output;
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(tmp)) left.push_back(e.path().string());
  EXPECT_TRUE(left.empty()) << "left behind: " << left.front();
  // No process (QEMU) still refers to the run directory.
  const std::string marker = tmp.string() + "/racerig-run-";
  for (const auto& proc : fs::directory_iterator("/proc")) {
    std::ifstream cmdline(proc.path() / "cmdline", std::ios::binary);
    std::stringstream text;
    text << cmdline.rdbuf();
    EXPECT_EQ(text.str().find(marker), std::string::npos) << "process " << proc.path().filename() << " is still running";
  }
  fs::remove_all(tmp);
}

}  // namespace
