// End-to-end (issue 15): QEMU SIGKILLed while `racerig reproduce` runs. The
// report says so in the words of what happened ("QEMU was killed by signal 9
// (SIGKILL)"), the run's logs (console, qemu.log, agent lines; no images)
// are kept under the cache's logs/runs, and the JSON and the human output
// name that directory. The other runs go on.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "proto/racerig.pb.h"
#include "support.h"

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers

namespace fs = std::filesystem;

// The QEMU processes whose command line names a run dir under `parent`,
// oldest first (start time, /proc/PID/stat field 22).
std::vector<pid_t> qemus_under(const fs::path& parent) {
  std::vector<std::pair<unsigned long long, pid_t>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (read_text(e.path() / "comm").rfind("qemu-system", 0) != 0) continue;
    std::string cmdline = read_text(e.path() / "cmdline");
    if (cmdline.find(parent.string() + "/racerig-run-") == std::string::npos) continue;
    const std::string stat = read_text(e.path() / "stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    unsigned long long start = 0;
    for (int i = 3; i <= 22 && rest >> field; ++i)
      if (i == 22) start = std::stoull(field);
    found.emplace_back(start, static_cast<pid_t>(std::stol(name)));
  }
  std::sort(found.begin(), found.end());
  std::vector<pid_t> out;
  for (const auto& [start, pid] : found) out.push_back(pid);
  return out;
}

struct Outcome {
  bool finished = false;  // racerig exited by itself
  int status = 0;
  pid_t killed = -1;
  std::string said;  // stdout + stderr
  racerig::pb::ReproduceReport report;
};

// `racerig reproduce --scenario xfs-dax-flip-vs-write-fault --kernel buggy
// --runs 3 --json F --verbose EXTRA`, run dirs in a TMPDIR of its own. Once
// the output says `trigger` and `pick` chooses one of the QEMUs there (oldest
// first), that QEMU gets SIGKILL.
Outcome reproduce_killing(const std::vector<std::string>& extra, const std::string& trigger,
                          const std::function<pid_t(const std::vector<pid_t>&)>& pick) {
  Outcome o;
  const fs::path tmp = fs::temp_directory_path() / ("racerig-it-" + std::to_string(::getpid()) + "-qemu-killed");
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  fs::permissions(tmp, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                           fs::perms::others_exec);  // QEMU's user reaches its run dir
  const fs::path json = tmp / "report.json";
  std::vector<std::string> args = {"reproduce", "--scenario", "xfs-dax-flip-vs-write-fault", "--kernel", "buggy",
                                   "--runs", "3", "--json", json.string(), "--verbose"};
  args.insert(args.end(), extra.begin(), extra.end());
  Background racerig(args, {"TMPDIR=" + tmp.string()});  // our run dirs, and only ours, are here
  if (!racerig.started()) return o;
  // Until racerig exits (bounded: 20 minutes), killing the picked QEMU once
  // the output says `trigger`.
  racerig.read_until(
      [&](const std::string& said) {
        if (o.killed < 0 && said.find(trigger) != std::string::npos)
          if (pid_t q = pick(qemus_under(tmp)); q > 0 && ::kill(q, SIGKILL) == 0) o.killed = q;
        return false;
      },
      std::chrono::minutes(20));
  o.finished = racerig.finish(std::chrono::seconds(0));  // SIGKILLed if still there
  o.status = racerig.status();
  o.said = racerig.output();
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(read_text(json), &o.report, opts);
  EXPECT_TRUE(parsed.ok()) << parsed.message() << "\n" << o.said;
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return o;
}

// The run whose reason says QEMU was SIGKILLed, or null.
const racerig::pb::RunReport* killed_run(const Outcome& o) {
  for (const auto& r : o.report.runs())
    if (r.reason().find("QEMU was killed by signal 9 (SIGKILL)") != std::string::npos) return &r;
  return nullptr;
}

// The case: QEMU killed while the guest boots (a cold run, one QEMU
// at a time, seconds of boot under TCG).
TEST(QemuKilled, DuringAColdBootTheReportSaysSoAndNamesTheKeptLogs) {
  // "the console spoke" comes once the run's kernel has printed (the NVDIMM
  // template, made by a boot of its own when missing, comes before "booting
  // buggy"): the QEMU seen then is the run's, and its console is not empty.
  // (A trigger on 1 s of QEMU's CPU time once found a console still empty.)
  Outcome o = reproduce_killing({"--cold"}, "run 1: the kernel is booting (the console spoke)",
                                [](const std::vector<pid_t>& q) { return q.empty() ? -1 : q.front(); });
  ASSERT_TRUE(o.finished) << "racerig did not finish within 20 minutes:\n" << o.said;
  ASSERT_GT(o.killed, 0) << "no QEMU was seen booting:\n" << o.said;
  EXPECT_TRUE(WIFEXITED(o.status)) << o.said;
  EXPECT_EQ(o.report.runs_size(), 3) << "the other runs go on:\n" << o.said;
  const racerig::pb::RunReport* hit = killed_run(o);
  ASSERT_NE(hit, nullptr) << "no run says QEMU was killed by signal 9:\n" << o.said;
  EXPECT_EQ(hit->verdict(), racerig::pb::INFRA_ERROR) << hit->reason();
  EXPECT_NE(hit->reason().find("the guest ended during set-up: QEMU was killed by signal 9 (SIGKILL)"),
            std::string::npos)
      << hit->reason();
  const std::string empty_tail = "console tail:\n";
  EXPECT_FALSE(hit->reason().size() >= empty_tail.size() &&
               hit->reason().compare(hit->reason().size() - empty_tail.size(), empty_tail.size(), empty_tail) == 0)
      << "an empty console tail: " << hit->reason();

  // The kept logs: under the cache's logs/runs, the three logs and nothing
  // else (no images), readable, writable by their owner only (root when
  // root runs racerig: never the racerig user QEMU runs as).
  ASSERT_FALSE(hit->kept_logs().empty()) << hit->reason();
  const fs::path kept = hit->kept_logs();
  EXPECT_EQ(kept.parent_path(), fs::path(cache_root()) / "logs" / "runs");
  ASSERT_TRUE(fs::is_directory(kept)) << kept;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(kept)) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"agent.log", "console.log", "qemu.log"}));
  EXPECT_NE(read_text(kept / "console.log"), "") << "the boot said something before the kill";
  EXPECT_EQ(read_text(kept / "console.log"), hit->console());
  for (const char* f : {"console.log", "qemu.log", "agent.log"}) {
    std::ifstream in(kept / f);
    EXPECT_TRUE(in.good()) << f << " is not readable";
  }
  struct stat st {};
  ASSERT_EQ(::stat(kept.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(st.st_mode & 022, 0u) << "group/others may write to " << kept;
  // The human output says both too.
  EXPECT_NE(o.said.find("QEMU was killed by signal 9 (SIGKILL)"), std::string::npos) << o.said;
  EXPECT_NE(o.said.find("logs kept in " + kept.string()), std::string::npos) << o.said;
  std::error_code ec;
  fs::remove_all(kept, ec);
}

// QEMU killed as soon as it is seen: while racerig connects to it, or
// before the kernel printed anything (an empty console once crashed racerig
// with std::out_of_range). Which of them is a race: the reason says which.
TEST(QemuKilled, RightAfterItStartsTheRunSaysSoAndTheOthersGoOn) {
  Outcome o = reproduce_killing({"--cold"}, "run 1: booting buggy",
                                [](const std::vector<pid_t>& q) { return q.empty() ? -1 : q.front(); });
  ASSERT_TRUE(o.finished) << "racerig did not finish within 20 minutes:\n" << o.said;
  ASSERT_GT(o.killed, 0) << "no QEMU was seen:\n" << o.said;
  ASSERT_TRUE(WIFEXITED(o.status)) << "racerig did not exit by itself:\n" << o.said;
  EXPECT_EQ(o.report.runs_size(), 3) << "the other runs go on:\n" << o.said;
  const racerig::pb::RunReport* hit = killed_run(o);
  ASSERT_NE(hit, nullptr) << "no run says QEMU was killed by signal 9:\n" << o.said;
  EXPECT_EQ(hit->verdict(), racerig::pb::INFRA_ERROR) << hit->reason();
  // Killed while racerig still connected to it, while it let the vCPUs
  // run (the gdbstub drops the connection), or once the guest ran (with or
  // without a word on its console): each is said as such.
  if (hit->reason().rfind("starting QEMU: ", 0) != 0 && hit->reason().rfind("starting the guest: ", 0) != 0) {
    EXPECT_NE(hit->reason().find("the guest ended during set-up: QEMU was killed"), std::string::npos)
        << hit->reason();
    const bool silent = hit->reason().find("; the console said nothing") != std::string::npos;
    EXPECT_EQ(silent, hit->console().empty()) << hit->reason();
    EXPECT_NE(hit->reason().find(silent ? "the console said nothing" : "console tail:\n"), std::string::npos)
        << hit->reason();
  }
  for (const auto& r : o.report.runs())
    if (&r != hit) {
      EXPECT_EQ(r.verdict(), racerig::pb::REPRODUCED) << r.reason();
    }
  if (!hit->kept_logs().empty()) {
    std::error_code ec;
    fs::remove_all(hit->kept_logs(), ec);
  }
}

// The libvirt backend: QEMU is libvirt's child, so its status comes from
// the domain's log (libvirt's "shutting down, reason=crashed").
TEST(QemuKilled, UnderLibvirtTheReportSaysHowTheDomainEnded) {
  Outcome o = reproduce_killing({"--backend", "libvirt", "--cold"}, "run 1: the kernel is booting (the console spoke)",
                                [](const std::vector<pid_t>& q) { return q.empty() ? -1 : q.front(); });
  ASSERT_TRUE(o.finished) << "racerig did not finish within 20 minutes:\n" << o.said;
  ASSERT_GT(o.killed, 0) << "no QEMU was seen booting:\n" << o.said;
  ASSERT_TRUE(WIFEXITED(o.status)) << o.said;
  EXPECT_EQ(o.report.runs_size(), 3) << "the other runs go on:\n" << o.said;
  const racerig::pb::RunReport* hit = nullptr;
  for (const auto& r : o.report.runs())
    if (r.reason().find("libvirt says reason=crashed") != std::string::npos) hit = &r;
  ASSERT_NE(hit, nullptr) << "no run says how the domain ended:\n" << o.said;
  EXPECT_EQ(hit->verdict(), racerig::pb::INFRA_ERROR) << hit->reason();
  EXPECT_NE(hit->reason().find("the guest ended during set-up: QEMU ended (domain racerig-"), std::string::npos)
      << hit->reason();
  for (const auto& r : o.report.runs())
    if (&r != hit) {
      EXPECT_EQ(r.verdict(), racerig::pb::REPRODUCED) << r.reason();
    }
  if (!hit->kept_logs().empty()) {
    EXPECT_NE(read_text(fs::path(hit->kept_logs()) / "qemu.log").find("reason=crashed"), std::string::npos);
    std::error_code ec;
    fs::remove_all(hit->kept_logs(), ec);
  }
}

// The default: runs from the ready-state snapshot, each next run's VM
// restored while one runs. The standby VM (the newer of two QEMUs) is
// killed: its run says so, and the cached snapshot is not thrown away.
TEST(QemuKilled, UnderSnapshotRunsTheRunWhoseQemuWasKilledSaysSo) {
  Outcome o = reproduce_killing({}, "guest ready; enforcing the schedule",
                                [](const std::vector<pid_t>& q) { return q.size() >= 2 ? q.back() : -1; });
  ASSERT_TRUE(o.finished) << "racerig did not finish within 20 minutes:\n" << o.said;
  ASSERT_GT(o.killed, 0) << "never two QEMUs at once:\n" << o.said;
  EXPECT_TRUE(WIFEXITED(o.status)) << o.said;
  EXPECT_EQ(o.report.runs_size(), 3) << o.said;
  const racerig::pb::RunReport* hit = killed_run(o);
  ASSERT_NE(hit, nullptr) << "no run says QEMU was killed by signal 9:\n" << o.said;
  EXPECT_EQ(hit->verdict(), racerig::pb::INFRA_ERROR) << hit->reason();
  EXPECT_NE(o.said.find("QEMU was killed by signal 9 (SIGKILL)"), std::string::npos) << o.said;
  EXPECT_EQ(o.said.find("making it again"), std::string::npos) << "a killed QEMU is not a bad snapshot:\n" << o.said;
  if (!hit->kept_logs().empty()) {
    std::error_code ec;
    fs::remove_all(hit->kept_logs(), ec);
  }
}

}  // namespace
