// End-to-end: the two races from other subsystems (issue 23), each described
// by data alone (a patch, a scenario, a C program, two candidates):
//  - keys-read-vs-revoke (CVE-2015-7550, security/keys) on 6.1 and 6.12;
//  - dirty-cow (CVE-2016-5195, mm) on 6.1 (6.12 has no VM_FAULT_WRITE).
// For each race and base: the buggy kernel reproduces on every forced run
// with the expected symptom, the stock kernel does not (schedule enforced
// or serialized, checks run), the upstream fix is FIXED and the plausible
// wrong fix NOT_FIXED, and the control's explore map shows the window.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "proto/racerig.pb.h"
#include "reports.h"
#include "support.h"

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers
namespace pb = racerig::pb;

std::string temp_json(const std::string& name) { return racerig::test::temp_json("races", name); }

// One race on one base: its scenario, its kernels and its candidates.
struct Race {
  std::string scenario;
  std::string buggy;
  std::string fixed;
  std::string upstream;  // candidate file under kernels/patches/candidates/
  std::string wrong;
  std::vector<std::string> window_functions;  // the wrong fix's failing point is in one of them
};

bool in(const std::vector<std::string>& names, const std::string& name) {
  for (const auto& n : names)
    if (n == name) return true;
  return false;
}

void PrintTo(const Race& r, std::ostream* os) { *os << r.scenario << " on " << r.buggy; }

// The symptom of one reproduced run, as the scenario's expectation names it.
void expect_symptom(const Race& race, const pb::RunReport& run) {
  if (race.scenario == "keys-read-vs-revoke") {
    bool in_user_read = run.oops().rip().function() == "user_read";
    EXPECT_TRUE(in_user_read) << "the oops is in user_read: " << run.oops().headline() << " at "
                              << run.oops().rip().text();
    EXPECT_NE(run.oops().headline().find("NULL pointer dereference"), std::string::npos) << run.oops().headline();
  } else {
    // The check program found the forced write in the file.
    bool found = false;
    for (const auto& e : run.agent())
      if (e.kind() == pb::AgentEvent::OP_FAILED &&
          e.stdout_text().find("a write reached a file its writer could only read") != std::string::npos)
        found = true;
    EXPECT_TRUE(found) << "no failed check saying the file was written: " << run.reason();
  }
}

class Races : public ::testing::TestWithParam<Race> {};

TEST_P(Races, TheBuggyKernelReproducesOnEveryForcedRunAndTheStockOneDoesNot) {
  const Race& race = GetParam();
  const std::string buggy_json = temp_json(race.buggy);
  Ran r = run_cli("reproduce --scenario " + race.scenario + " --kernel " + race.buggy + " --runs 3 --json " +
                  buggy_json);
  EXPECT_EQ(r.exit_code, 0) << "exit 0: REPRODUCED\n" << r.output;
  const auto buggy = read_report<pb::ReproduceReport>(buggy_json);
  ASSERT_EQ(buggy.runs_size(), 3) << buggy.error() << "\n" << r.output;
  for (const auto& run : buggy.runs()) {
    SCOPED_TRACE("run " + std::to_string(run.run()));
    EXPECT_EQ(run.verdict(), pb::REPRODUCED) << run.reason();
    EXPECT_TRUE(run.schedule_enforced()) << run.reason();
    expect_symptom(race, run);
  }

  const std::string fixed_json = temp_json(race.fixed);
  r = run_cli("reproduce --scenario " + race.scenario + " --kernel " + race.fixed + " --runs 1 --json " + fixed_json);
  EXPECT_EQ(r.exit_code, 1) << "exit 1: NOT_REPRODUCED\n" << r.output;
  const auto fixed = read_report<pb::ReproduceReport>(fixed_json);
  ASSERT_EQ(fixed.runs_size(), 1) << fixed.error() << "\n" << r.output;
  const auto& run = fixed.runs(0);
  EXPECT_EQ(run.verdict(), pb::NOT_REPRODUCED) << run.reason();
  EXPECT_TRUE(run.schedule_enforced() || run.serialized()) << "a pass needs proof: " << run.reason();
  EXPECT_FALSE(run.has_oops()) << run.oops().headline();
  // Every actor's program and the check program ran and passed.
  int ok_execs = 0;
  for (const auto& e : run.agent()) {
    EXPECT_NE(e.kind(), pb::AgentEvent::OP_FAILED) << e.actor() << ": " << e.message();
    if (e.kind() == pb::AgentEvent::OP_OK && !e.program().empty()) ++ok_execs;
  }
  EXPECT_EQ(ok_execs, 4) << "prepare, two actors and the check";
}

TEST_P(Races, TheUpstreamFixIsFixedAndTheWrongFixIsNot) {
  const Race& race = GetParam();
  const std::string kernels = std::string(RACERIG_SOURCE_DIR) + "/kernels/patches/candidates/";
  const std::string up_json = temp_json("upstream-" + race.buggy);
  Ran r = run_cli("validate --base " + race.buggy + " --scenario " + race.scenario + " --runs 1 --patch " + kernels +
                  race.upstream + " --json " + up_json);
  EXPECT_EQ(r.exit_code, 0) << "exit 0: FIXED\n" << r.output;
  const auto up = read_report<pb::ValidateReport>(up_json);
  ASSERT_EQ(up.scenarios_size(), 1) << up.error() << "\n" << r.output;
  const auto& fixed = up.scenarios(0);
  EXPECT_EQ(fixed.result(), pb::FIXED) << fixed.reason();
  // The control's map shows the window: explored points reproduce on the
  // buggy kernel.
  EXPECT_GT(fixed.control_map().schedules_size(), 0) << r.output;
  EXPECT_GT(fixed.control_map().reproduced(), 0) << "the buggy kernel's map shows no window\n" << r.output;
  EXPECT_EQ(fixed.patched_map().reproduced(), 0) << fixed.reason();

  const std::string wrong_json = temp_json("wrong-" + race.buggy);
  r = run_cli("validate --base " + race.buggy + " --scenario " + race.scenario + " --runs 1 --patch " + kernels +
              race.wrong + " --json " + wrong_json);
  EXPECT_EQ(r.exit_code, 1) << "exit 1: NOT_FIXED\n" << r.output;
  const auto wrong = read_report<pb::ValidateReport>(wrong_json);
  ASSERT_EQ(wrong.scenarios_size(), 1) << wrong.error() << "\n" << r.output;
  const auto& not_fixed = wrong.scenarios(0);
  EXPECT_EQ(not_fixed.result(), pb::NOT_FIXED) << not_fixed.reason();
  // The wrong fix passes the scenario's own schedule: only the map finds it.
  ASSERT_EQ(not_fixed.patched().runs_size(), 1);
  EXPECT_EQ(not_fixed.patched().runs(0).verdict(), pb::NOT_REPRODUCED) << not_fixed.patched().runs(0).reason();
  const pb::ExploredSchedule* first = nullptr;  // the first failing schedule, which the verdict names
  const pb::ExploredSchedule* hit = nullptr;    // the first failing in the window's named functions
  for (const auto& s : not_fixed.patched_map().schedules()) {
    if (s.verdict() != pb::REPRODUCED) continue;
    if (first == nullptr) first = &s;
    if (hit == nullptr && in(race.window_functions, s.point().function())) hit = &s;
  }
  ASSERT_NE(hit, nullptr) << "no reproducing point in " << race.window_functions[0] << ": " << not_fixed.reason();
  const std::string named = first->point().function() + " " + first->point().file() + ":" +
                            std::to_string(first->point().line()) + " #" + std::to_string(first->point().visit());
  EXPECT_NE(not_fixed.reason().find(named), std::string::npos)
      << "the verdict names the first failing point (" << named << "): " << not_fixed.reason();
}

INSTANTIATE_TEST_SUITE_P(
    OtherSubsystems, Races,
    ::testing::Values(Race{"keys-read-vs-revoke", "keys-buggy", "fixed", "keys/upstream-validate-under-the-key-semaphore.patch",
                           "keys/recheck-before-read.patch", {"__keyctl_read_key"}},
                      Race{"keys-read-vs-revoke", "keys-buggy-6.12", "fixed-6.12",
                           "keys/upstream-validate-under-the-key-semaphore.patch", "keys/recheck-before-read.patch",
                           {"__keyctl_read_key"}},
                      Race{"dirty-cow", "dirty-cow-buggy", "fixed", "dirty-cow/upstream-keep-foll-write.patch",
                           "dirty-cow/recheck-copy-before-read-retry.patch", {"faultin_page", "__get_user_pages"}}),
    [](const ::testing::TestParamInfo<Race>& info) {
      std::string name = info.param.buggy;
      for (char& c : name)
        if (c == '-' || c == '.') c = '_';
      return name;
    });

}  // namespace
