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
#include <thread>
#include <tuple>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "support.h"
#include "proto/racerig.pb.h"

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers





std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("racerig-it-" + std::to_string(getpid()) + "-" + name)).string();
}

// What a CI job's shell runs: `racerig ARGS 2>/dev/null | FILTER`. Returns
// racerig's exit code; `filter_code` gets the filter's.
int run_cli_piped(const std::string& args, const std::string& filter, int* filter_code) {
  const std::string path = temp_path("pipe.sh");
  {
    std::ofstream out(path);
    out << "RACERIG_ROOT='" << RACERIG_SOURCE_DIR << "' " << RACERIG_BIN << " " << args << " 2>/dev/null | " << filter
        << "\necho \"${PIPESTATUS[0]} ${PIPESTATUS[1]}\"\n";
  }
  FILE* p = popen(("/bin/bash " + path).c_str(), "r");
  if (p == nullptr) return -1;
  int racerig = -1;
  *filter_code = -1;
  if (std::fscanf(p, "%d %d", &racerig, filter_code) != 2) racerig = -1;
  pclose(p);
  std::filesystem::remove(path);
  return racerig;
}

// xmllint's complaint about the file at `path`, or "" when it is well-formed XML.
std::string xmllint(const std::string& path) {
  Ran r;
  FILE* p = popen(("xmllint --noout '" + path + "' 2>&1").c_str(), "r");
  if (p == nullptr) return "xmllint did not run";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return r.output.empty() ? "xmllint failed" : r.output;
  return "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
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

// The seed's race on each kernel base: the same scenario file, the base's
// own variants (buggy, fixed) and candidate patches.
struct Base {
  std::string name;       // "6.1"
  std::string suffix;     // of its variants' names: "buggy" + suffix
  std::string candidates; // its candidate fixes, under kernels/patches/candidates/
};
std::ostream& operator<<(std::ostream& os, const Base& b) { return os << b.name; }
const Base kBases[] = {Base{"6.1", "", ""}, Base{"6.12", "-6.12", "6.12/"}};
std::string base_test_name(const Base& b) { return "linux_" + std::string(b.name == "6.1" ? "6_1" : "6_12"); }

class OnEachBase : public ::testing::TestWithParam<Base> {
 protected:
  std::string kernel(const std::string& variant) const { return variant + GetParam().suffix; }
  std::string tag(const std::string& what) const { return what + "-" + GetParam().name; }
};

INSTANTIATE_TEST_SUITE_P(Bases, OnEachBase, ::testing::ValuesIn(kBases),
                         [](const ::testing::TestParamInfo<Base>& info) { return base_test_name(info.param); });

// Both ways of restoring the ready state give the same verdicts, on each base.
class OnEachBaseAndRestore : public ::testing::TestWithParam<std::tuple<Base, std::string>> {
 protected:
  const Base& base() const { return std::get<0>(GetParam()); }
  const std::string& restore() const { return std::get<1>(GetParam()); }
  std::string kernel(const std::string& variant) const { return variant + base().suffix; }
  std::string tag(const std::string& what) const { return what + "-" + base().name + "-" + restore(); }
};

INSTANTIATE_TEST_SUITE_P(Reproduce, OnEachBaseAndRestore,
                         ::testing::Combine(::testing::ValuesIn(kBases), ::testing::Values("incoming", "loadvm")),
                         [](const ::testing::TestParamInfo<std::tuple<Base, std::string>>& info) {
                           return base_test_name(std::get<0>(info.param)) + "_" + std::get<1>(info.param);
                         });

// The restore paths alone (6.1's buggy kernel).
class Restore : public testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Reproduce, Restore, testing::Values("incoming", "loadvm"));

TEST_P(OnEachBaseAndRestore, TheSeedRaceCrashesBuggyOnEveryRun) {
  std::string json = temp_path(tag("buggy.json"));
  // From the ready-state snapshot (the default): every run restored.
  Ran r = run_cli("reproduce --scenario xfs-dax-flip-vs-write-fault --kernel " + kernel("buggy") +
                  " --runs 3 --restore " + restore() + " --json " + json);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 3) << r.output;
  EXPECT_EQ(report.reproduced(), 3);
  for (const auto& run : report.runs()) {
    EXPECT_TRUE(run.from_snapshot());
    EXPECT_EQ(run.restore_method(), restore());
    EXPECT_GT(run.time_to_oops_ms(), 0);
    EXPECT_EQ(run.verdict(), racerig::pb::REPRODUCED) << run.reason();
    EXPECT_TRUE(run.schedule_enforced()) << run.reason();
    EXPECT_EQ(run.oops().kind(), "BUG");
    EXPECT_NE(run.oops().headline().find("NULL pointer dereference"), std::string::npos);
    EXPECT_EQ(run.oops().rip().function(), "iomap_page_mkwrite");
    EXPECT_FALSE(run.oops().rip().file().empty()) << "RIP decoded to file:line";
    bool via_xfs = false;
    for (const auto& f : run.oops().trace()) via_xfs = via_xfs || f.function() == "__xfs_filemap_fault";
    EXPECT_TRUE(via_xfs) << "the call trace lacks __xfs_filemap_fault: " << run.reason() << "\n"
                         << run.oops().text() << "\nconsole:\n"
                         << run.console();
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

TEST_P(OnEachBaseAndRestore, TheSameScheduleOnFixedIsEnforcedAndDoesNotCrash) {
  // As a CI job runs it: only JSON on stdout (progress and the table go to
  // stderr), so a JSON tool reads it whole.
  std::string json = temp_path(tag("fixed.json"));
  int json_tool = -1;
  int code = run_cli_piped("reproduce --scenario xfs-dax-flip-vs-write-fault --kernel " + kernel("fixed") +
                               " --runs 2 --restore " + restore() + " --json -",
                           "/usr/bin/python3 -m json.tool > " + json, &json_tool);
  const std::string text = read_file(json);
  EXPECT_EQ(code, 1) << text;
  EXPECT_EQ(json_tool, 0) << "python3 -m json.tool read stdout as JSON";
  EXPECT_NE(text.find("\"racerig_version\": \""), std::string::npos) << text.substr(0, 2000);
  EXPECT_NE(text.find("\"qemu_version\": \"QEMU emulator version"), std::string::npos) << text.substr(0, 2000);
  EXPECT_NE(text.find("\"reproduced\": 0"), std::string::npos) << "zero-valued fields are written";
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 2) << text.substr(0, 2000);
  for (const auto& run : report.runs()) {
    EXPECT_EQ(run.restore_method(), restore());
    EXPECT_EQ(run.verdict(), racerig::pb::NOT_REPRODUCED) << run.reason();
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
  std::string json = temp_path("unknown-symbol.json");
  Ran r = run_cli("reproduce --scenario " + data("unknown-symbol.textproto") + " --kernel fixed --json " + json);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // The report is written all the same, with the error in it.
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  EXPECT_NE(report.error().find("unknown-symbol.textproto:9:"), std::string::npos) << report.error();
  EXPECT_EQ(report.runs_size(), 0);
  EXPECT_FALSE(report.racerig_version().empty());
  EXPECT_NE(r.output.find("unknown-symbol.textproto:9:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("__xfs_filemap_fault"), std::string::npos) << "suggests the near name: " << r.output;
  EXPECT_EQ(r.output.find("booting"), std::string::npos) << "nothing booted";
}

TEST_P(OnEachBase, BuggySwitchesDaxOnTheLiveInodeAndFixedDoesNot) {
  for (std::string variant : {"buggy", "fixed"}) {
    const std::string kernel = this->kernel(variant);
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
    EXPECT_EQ(after_clear, variant == "buggy" ? 0 : 1)
        << kernel << ": clearing the flag on an open file takes effect at once only on buggy\n"
        << r.output;
  }
}

// A host too busy to read the agent port for a while loses none of the
// guest's last event lines: the agent drains its serial port before it
// powers off. racerig is stopped 400 ms of every 450 from the moment the
// agent starts (before the fix 10 runs in 10 lost the last lines this way,
// and CI once lost them on its own).
TEST(GuestRun, AStarvedHostStillGetsTheLastAgentLines) {
  for (int i = 0; i < 2; ++i) {
    const std::string json = temp_path("starved-" + std::to_string(i) + ".json");
    Background run({"guest", "run", "--kernel", "fixed", "--workload",
                    std::string(RACERIG_SOURCE_DIR) + "/workloads/dax-flag-live-switch.textproto", "--json", json});
    ASSERT_TRUE(run.read_until_text("the agent started", std::chrono::seconds(120))) << run.output();
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!run.exited() && std::chrono::steady_clock::now() < end) {
      run.signal(SIGSTOP);
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      run.signal(SIGCONT);
      run.read_until([](const std::string&) { return false; }, std::chrono::milliseconds(50));
    }
    run.signal(SIGCONT);
    ASSERT_TRUE(run.finish(std::chrono::seconds(60))) << run.output();
    EXPECT_TRUE(WIFEXITED(run.status()) && WEXITSTATUS(run.status()) == 0) << run.output();
    auto report = read_json<racerig::pb::RunReport>(json);
    ASSERT_GT(report.agent_size(), 0) << run.output();
    EXPECT_EQ(report.agent(report.agent_size() - 1).kind(), racerig::pb::AgentEvent::DONE) << run.output();
  }
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

TEST_P(OnEachBase, TheUpstreamStyleFixIsFixed) {
  std::string json = temp_path(tag("validate-upstream.json")), junit = temp_path(tag("validate-upstream.xml"));
  Ran r = run_cli("validate --base " + kernel("buggy") + " --patch " +
                  candidate(GetParam().candidates + "upstream-defer-dax-change-to-eviction.patch") + " --runs 2 --json " +
                  json + " --junit " + junit);
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
  // The scenario declares its window: both kernels were explored, each on
  // its own trace; no point reproduces on the patched one.
  int control_hits = 0;
  for (const auto& e : s.control_map().schedules()) control_hits += e.verdict() == racerig::pb::REPRODUCED;
  EXPECT_GT(control_hits, 0);
  ASSERT_GT(s.patched_map().schedules_size(), 0);
  for (const auto& e : s.patched_map().schedules()) EXPECT_NE(e.verdict(), racerig::pb::REPRODUCED) << e.reason();
  EXPECT_NE(s.reason().find("no explored point reproduces on the patched kernel"), std::string::npos) << s.reason();
  EXPECT_EQ(xmllint(junit), "");
  const std::string xml = read_file(junit);
  EXPECT_NE(xml.find("explored "), std::string::npos) << "the maps in the JUnit report: " << xml;
  EXPECT_NE(xml.find("<testcase"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("<failure"), std::string::npos) << xml;
  EXPECT_NE(xml.find(" time=\""), std::string::npos) << xml;
  std::filesystem::remove(junit);
  EXPECT_NE(r.output.find("FIXED"), std::string::npos) << "the table";
}

TEST_P(OnEachBase, TheNaiveLockStillCrashes) {
  std::string json = temp_path(tag("validate-naive.json"));
  Ran r = run_cli("validate --base " + kernel("buggy") + " --patch " +
                  candidate(GetParam().candidates + "naive-lock-is-dax-under-mmaplock.patch") + " --runs 2 --json " +
                  json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto report = read_json<racerig::pb::ValidateReport>(json);
  ASSERT_EQ(report.scenarios_size(), 1) << r.output;
  const auto& s = report.scenarios(0);
  EXPECT_EQ(s.result(), racerig::pb::NOT_FIXED) << s.reason();
  ASSERT_GT(s.patched().runs_size(), 0);
  EXPECT_EQ(s.patched().runs(0).oops().rip().function(), "iomap_page_mkwrite");
  EXPECT_NE(r.output.find("iomap_page_mkwrite"), std::string::npos) << "shows the oops: " << r.output;
  // NOT_FIXED is proven on the scenario's own schedule: neither kernel is explored.
  EXPECT_FALSE(s.has_patched_map()) << r.output;
  EXPECT_FALSE(s.has_control_map()) << r.output;
}

// The schedule is the cause: held before IS_DAX is read, the same workload
// on buggy does not crash and writes its data.
TEST(Reproduce, TheNegativeControlOnBuggyIsNotReproducedWithItsDataWritten) {
  std::string json = temp_path("negative.json");
  Ran r = run_cli("reproduce --scenario " + data("negative-control.textproto") + " --kernel buggy --json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  const auto& run = report.runs(0);
  EXPECT_EQ(run.verdict(), racerig::pb::NOT_REPRODUCED) << run.reason() << "\n" << r.output;
  EXPECT_TRUE(run.schedule_enforced());
  EXPECT_TRUE(has_event(run, "held", "faulter"));
  EXPECT_TRUE(has_event(run, "returned", "flipper"));
  int checks_ok = 0;
  for (const auto& e : run.agent())
    if (e.kind() == racerig::pb::AgentEvent::OP_OK && e.actor() == "check" && e.op() == "pread") ++checks_ok;
  EXPECT_EQ(checks_ok, 2) << "the write landed and the rest of the file is intact";
}

// file:line points stop wherever the line's code runs (every is_stmt
// address): line 1355 (write path) reproduces; line 1358 runs with the
// MMAPLOCK held, so the flipper sleeps on it: serialized. After the release
// buggy is still buggy: the faulter's retried fault (or a write-protect
// fault on the DAX pfn) can meet the switch on its own, without any hold,
// and crash (measured 6 of 10 runs): then REPRODUCED, still serialized.
TEST(Reproduce, HoldsAtLines1355And1358OfXfsFileAreReached) {
  std::string json = temp_path("line1355.json");
  Ran r = run_cli("reproduce --scenario " + data("hold-at-line-1355.textproto") + " --kernel buggy --json " + json);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  EXPECT_EQ(report.runs(0).verdict(), racerig::pb::REPRODUCED) << report.runs(0).reason();
  EXPECT_TRUE(report.runs(0).schedule_enforced());

  json = temp_path("line1358.json");
  r = run_cli("reproduce --scenario " + data("hold-at-line-1358.textproto") + " --kernel buggy --json " + json);
  report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  const auto& run = report.runs(0);
  EXPECT_TRUE(run.serialized()) << run.reason();
  EXPECT_NE(run.reason().find("serialized: flipper blocked at"), std::string::npos) << run.reason();
  if (run.verdict() == racerig::pb::REPRODUCED) {
    EXPECT_EQ(run.oops().rip().function(), "iomap_page_mkwrite");
  } else {
    EXPECT_EQ(run.verdict(), racerig::pb::NOT_REPRODUCED) << run.reason();
    EXPECT_EQ(r.exit_code, 1) << r.output;
  }
  EXPECT_TRUE(has_event(run, "held", "faulter"));
  ASSERT_GE(run.blocked_size(), 1);
  EXPECT_EQ(run.blocked(0).actor(), "flipper");
  EXPECT_NE(run.blocked(0).where().find("xfs_ilock"), std::string::npos) << run.blocked(0).where();
}

// Three actors on three vCPUs (the count comes from the scenario).
TEST(Reproduce, AThreeActorScenarioReproducesOnThreeVcpus) {
  std::string json = temp_path("three.json");
  Ran r = run_cli("reproduce --scenario " + data("three-actors.textproto") + " --kernel buggy --json " + json);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  const auto& run = report.runs(0);
  EXPECT_EQ(run.verdict(), racerig::pb::REPRODUCED) << run.reason() << "\n" << r.output;
  EXPECT_TRUE(run.schedule_enforced());
  EXPECT_TRUE(has_event(run, "returned", "reader"));
  bool vcpu2 = false;
  for (const auto& e : run.events()) vcpu2 = vcpu2 || (e.actor() == "reader" && e.vcpu() == 2);
  EXPECT_TRUE(vcpu2) << "the reader ran on vCPU 2";
}

// A locking fix that serializes the window: the flipper sleeps on the
// MMAPLOCK while the faulter is held; released, everyone finishes. Three
// runs: its first version (the lock without zapping the mappings) crashed
// in about one run of four after the release (candidates/README.md). On the
// scenario's own schedule (--no-explore): what is tested is the blocking
// stack; exploring validates are tested by TheUpstreamStyleFixIsFixed and
// the explore suite (two maps of ~40 schedules each would add ~100 s here).
TEST_P(OnEachBase, ALockThatSerializesTheWindowIsFixedWithTheBlockingStack) {
  std::string json = temp_path(tag("validate-serialize.json"));
  Ran r = run_cli("validate --base " + kernel("buggy") + " --patch " +
                  candidate(GetParam().candidates + "serialize-mmaplock-across-dax-write-fault.patch") +
                  " --no-explore --scenario xfs-dax-flip-vs-write-fault --runs 3 --json " + json);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto report = read_json<racerig::pb::ValidateReport>(json);
  ASSERT_EQ(report.scenarios_size(), 1) << r.output;
  const auto& s = report.scenarios(0);
  EXPECT_EQ(s.result(), racerig::pb::FIXED) << s.reason();
  EXPECT_NE(s.reason().find("serialized: flipper blocked at rwsem_down_write_slowpath"), std::string::npos)
      << s.reason();
  ASSERT_EQ(s.patched().runs_size(), 3);
  for (const auto& run : s.patched().runs()) {
    EXPECT_EQ(run.verdict(), racerig::pb::NOT_REPRODUCED) << run.reason();
    EXPECT_TRUE(run.serialized());
    ASSERT_GE(run.blocked_size(), 1);
    EXPECT_EQ(run.blocked(0).actor(), "flipper");
    EXPECT_EQ(run.blocked(0).wait(), "lock");
    EXPECT_NE(run.blocked(0).where().find("xfs_ilock"), std::string::npos) << run.blocked(0).where();
    EXPECT_NE(run.blocked(0).where().find("xfs_fileattr_set"), std::string::npos) << run.blocked(0).where();
    ASSERT_GE(run.blocked(0).behind_size(), 1);
    EXPECT_NE(run.blocked(0).behind(0).find("faulter held at __xfs_filemap_fault"), std::string::npos);
    EXPECT_GT(run.time_to_detect_block_ms(), 0);
  }
}

TEST_P(OnEachBase, ALockThatDeadlocksUnderTheScheduleIsNotFixedWithBothStacks) {
  std::string json = temp_path(tag("validate-deadlock.json"));
  Ran r = run_cli("validate --base " + kernel("buggy") + " --patch " +
                  candidate(GetParam().candidates + "deadlock-iolock-in-dax-write-fault.patch") +
                  " --scenario xfs-dax-flip-vs-write-fault --runs 1 --json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto report = read_json<racerig::pb::ValidateReport>(json);
  ASSERT_EQ(report.scenarios_size(), 1) << r.output;
  const auto& s = report.scenarios(0);
  EXPECT_EQ(s.result(), racerig::pb::NOT_FIXED) << s.reason();
  ASSERT_EQ(s.patched().runs_size(), 1);
  const auto& run = s.patched().runs(0);
  EXPECT_EQ(run.verdict(), racerig::pb::DEADLOCK) << run.reason();
  bool faulter = false, flipper = false;
  for (const auto& b : run.blocked()) {
    if (b.actor() == "faulter" && b.where().find("__xfs_filemap_fault") != std::string::npos) faulter = true;
    if (b.actor() == "flipper" && b.where().find("xfs_fileattr_set") != std::string::npos) flipper = true;
  }
  EXPECT_TRUE(faulter && flipper) << run.reason();
}

TEST(Validate, AScenarioWithoutAScheduleIsRefused) {
  Ran r = run_cli("validate --patch " + candidate("upstream-defer-dax-change-to-eviction.patch") +
                  " --scenario " + std::string(RACERIG_SOURCE_DIR) + "/scenarios/stress/stress-fsx-vs-dax-flip.textproto");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("has no schedule"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("booting"), std::string::npos) << "nothing booted";
}

TEST(Validate, APatchThatDoesNotCompileIsAnErrorWithTheCompilerMessage) {
  std::string json = temp_path("validate-cc.json"), junit = temp_path("validate-cc.xml");
  // In a UTF-8 locale gcc quotes with U+2018/U+2019: the JUnit file stays well-formed.
  Ran r = run_cli("validate --patch " + data("does-not-compile.patch") + " --runs 1 --json " + json + " --junit " + junit,
                  "LC_ALL=C.UTF-8 ");
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_EQ(xmllint(junit), "") << read_file(junit);
  const std::string xml = read_file(junit);
  EXPECT_NE(xml.find("expected expression"), std::string::npos) << xml;
  EXPECT_NE(xml.find("\xe2\x80\x98"), std::string::npos) << "gcc's non-ASCII quote made it into the file: " << xml;
  EXPECT_EQ(xml.find("name=\"build \""), std::string::npos) << xml;
  std::filesystem::remove(junit);
  EXPECT_NE(r.output.find("fs/xfs/xfs_stats.c:93:32: error: expected expression"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("full log: "), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("booting"), std::string::npos) << "nothing booted";
  auto report = read_json<racerig::pb::ValidateReport>(json);
  EXPECT_NE(report.error().find("expected expression"), std::string::npos) << report.error();
}

TEST(Validate, APatchThatDoesNotApplyNamesTheFileAndHunk) {
  std::string json = temp_path("validate-apply.json"), junit = temp_path("validate-apply.xml");
  Ran r = run_cli("validate --patch " + data("does-not-apply.patch") + " --runs 1 --json " + json + " --junit " + junit);
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_EQ(xmllint(junit), "") << read_file(junit);
  std::filesystem::remove(junit);
  EXPECT_NE(read_json<racerig::pb::ValidateReport>(json).error().find("Hunk #1 FAILED"), std::string::npos);
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
  std::string json = temp_path("validate-missing.json"), junit = temp_path("validate-missing.xml");
  Ran missing = run_cli("validate --patch /nonexistent.patch --json " + json + " --junit " + junit);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("/nonexistent.patch"), std::string::npos) << missing.output;
  EXPECT_EQ(xmllint(junit), "") << read_file(junit);
  std::filesystem::remove(junit);
  EXPECT_NE(read_json<racerig::pb::ValidateReport>(json).error().find("/nonexistent.patch"), std::string::npos);
}

TEST(Validate, AnUnknownScenarioStillWritesTheReports) {
  std::string json = temp_path("validate-noscenario.json"), junit = temp_path("validate-noscenario.xml");
  Ran r = run_cli("validate --patch " + candidate("upstream-defer-dax-change-to-eviction.patch") +
                  " --scenario no-such-scenario --json " + json + " --junit " + junit);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(xmllint(junit), "") << read_file(junit);
  EXPECT_NE(read_file(junit).find("no-such-scenario"), std::string::npos) << read_file(junit);
  std::filesystem::remove(junit);
  auto report = read_json<racerig::pb::ValidateReport>(json);
  EXPECT_NE(report.error().find("no-such-scenario"), std::string::npos) << report.error();
  EXPECT_FALSE(report.qemu_version().empty());
}

// What a user types first: help everywhere, and the version.
TEST(Cli, HelpAndVersion) {
  Ran top = run_cli("-h");
  EXPECT_EQ(top.exit_code, 0) << top.output;
  EXPECT_NE(top.output.find("validate"), std::string::npos) << top.output;
  Ran validate = run_cli("validate -h");
  EXPECT_EQ(validate.exit_code, 0) << validate.output;
  for (const char* option : {"--patch", "--base", "--scenario", "--runs", "--json", "--junit", "--cold", "--kvm"})
    EXPECT_NE(validate.output.find(option), std::string::npos) << option << " in\n" << validate.output;
  Ran help = run_cli("help validate");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_EQ(help.output, validate.output);
  Ran version = run_cli("--version");
  EXPECT_EQ(version.exit_code, 0) << version.output;
  EXPECT_EQ(version.output.rfind("racerig ", 0), 0u) << version.output;
  EXPECT_NE(version.output.find("QEMU emulator version"), std::string::npos) << version.output;
  Ran bad = run_cli("reproduce --kernel buggy");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--scenario"), std::string::npos) << bad.output;
}

// Ctrl-C in the middle of a run: racerig stops QEMU and removes every run
// directory and socket before it exits.
// --attach as a kernel developer uses it: the printed gdb line, the real
// gdb in batch mode, a backtrace on the named vCPU at the crash.
TEST(Reproduce, AttachLeavesTheFaultingVcpuAtTheCrashForGdb) {
  Background racerig({"reproduce", "--scenario", "xfs-dax-flip-vs-write-fault", "--kernel", "buggy", "--attach"});
  ASSERT_TRUE(racerig.started());
  // The whole "attach: " line (bounded: 300 s for the boot and the run).
  std::string line;
  racerig.read_until(
      [&](const std::string& text) {
        const size_t at = text.find("attach: ");
        if (at == std::string::npos || text.find('\n', at) == std::string::npos) return false;
        line = text.substr(at, text.find('\n', at) - at);
        return true;
      },
      std::chrono::seconds(300));
  ASSERT_FALSE(line.empty()) << racerig.output();
  EXPECT_NE(line.find("stopped at the crash; vCPU 0 (gdb thread 1)"), std::string::npos) << line;
  size_t g = line.find(": gdb /");
  ASSERT_NE(g, std::string::npos) << line;
  g += 2;
  Ran gdb = run_shell("timeout 120 " + line.substr(g, line.find(" -ex bt") - g) +
                        " -batch -ex 'info threads' -ex bt");
  racerig.signal(SIGINT);
  EXPECT_TRUE(racerig.finish(std::chrono::seconds(60))) << racerig.output();
  EXPECT_NE(gdb.output.find("iomap_page_mkwrite"), std::string::npos) << gdb.output;
  EXPECT_NE(gdb.output.find("__xfs_filemap_fault"), std::string::npos) << gdb.output;
}

TEST(Reproduce, InterruptedRunLeavesNothingBehind) {
  namespace fs = std::filesystem;
  const fs::path tmp = temp_path("tmpdir");
  fs::create_directories(tmp);
  Background racerig({"reproduce", "--scenario", "xfs-dax-flip-vs-write-fault", "--kernel", "fixed", "--runs", "5"},
                     {"TMPDIR=" + tmp.string()});
  ASSERT_TRUE(racerig.started());
  // Interrupt once QEMU runs (its gdbstub socket exists; bounded at 60 s).
  auto run_dirs = [&] {
    int count = 0;
    for (const auto& e : fs::directory_iterator(tmp))
      count += e.path().filename().string().rfind("racerig-run-", 0) == 0 && fs::exists(e.path() / "gdb.sock");
    return count;
  };
  const bool running = racerig.read_until([&](const std::string&) { return run_dirs() > 0; }, std::chrono::seconds(60));
  EXPECT_TRUE(running) << "no run directory appeared in " << tmp;
  racerig.signal(SIGINT);
  racerig.finish(std::chrono::minutes(5));
  const std::string& output = racerig.output();
  const int status = racerig.status();
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
