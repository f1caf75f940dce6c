// End-to-end: guest programs (issue 23) on the fixed 6.1 kernel. A program
// actor is held in getppid, found by its comm (the actor's name); bad
// programs (a segfault, exit 3, 100 MB of output, an endless loop, a fork
// bomb) are each reported with actor, program and reason while the run still
// finishes; a failing check program is what the expectation sees; a source
// that does not compile is an input error before anything boots.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <google/protobuf/util/json_util.h>

#include "proto/racerig.pb.h"
#include "support.h"

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers
namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("racerig-programs-it-" + std::to_string(getpid()) + "-" + name)).string();
}

std::string data(const std::string& file) { return std::string(RACERIG_SOURCE_DIR) + "/tests/integration/data/" + file; }

racerig::pb::ReproduceReport read_report(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  racerig::pb::ReproduceReport m;
  auto st = google::protobuf::util::JsonStringToMessage(text.str(), &m);
  EXPECT_TRUE(st.ok()) << st.message() << " in " << path;
  fs::remove(path);
  return m;
}

// The OP_OK or OP_FAILED event of `actor`'s exec of `program`.
const racerig::pb::AgentEvent* exec_event(const racerig::pb::RunReport& run, const std::string& actor,
                                          const std::string& program) {
  for (const auto& e : run.agent())
    if ((e.kind() == racerig::pb::AgentEvent::OP_OK || e.kind() == racerig::pb::AgentEvent::OP_FAILED) &&
        e.actor() == actor && e.program() == program)
      return &e;
  return nullptr;
}

// The agent's events, one per line, for a failure's message.
std::string agent_log(const racerig::pb::RunReport& run) {
  std::string out = "verdict reason: " + run.reason() + "\nagent events:\n";
  for (const auto& e : run.agent())
    out += "  " + racerig::pb::AgentEvent::Kind_Name(e.kind()) + " " + e.actor() + " " + e.program() + " " +
           e.message() + "\n";
  return out;
}

TEST(Programs, ProgramActorsAreHeldByCommAndBadProgramsAreReportedWithActorProgramAndReason) {
  const std::string json = temp_path("programs.json");
  Ran r = run_cli("reproduce --scenario " + data("programs.textproto") + " --kernel fixed --runs 1 --json " + json);
  auto report = read_report(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  const auto& run = report.runs(0);
  EXPECT_EQ(run.verdict(), racerig::pb::REPRODUCED) << run.reason() << "\n" << r.output;
  EXPECT_TRUE(run.schedule_enforced()) << run.reason();
  // The expectation (guest_check_fails) saw the failing check program.
  EXPECT_NE(run.reason().find("check exec /racerig/programs/check-fails: program check-fails exited with 1"),
            std::string::npos)
      << run.reason();

  // The program actor ran on its CPU under its actor's name, and the hold
  // in getppid found exactly that task (its pid is the one it printed).
  const auto* hello = exec_event(run, "printer", "hello");
  ASSERT_NE(hello, nullptr) << agent_log(run);
  EXPECT_EQ(hello->kind(), racerig::pb::AgentEvent::OP_OK) << hello->message();
  const std::string& out = hello->stdout_text();
  EXPECT_EQ(out.rfind("comm=printer pid=", 0), 0u) << out;
  EXPECT_NE(out.find(" cpu=0 argc=3 -m /dev/ptmx\n"), std::string::npos) << out;
  EXPECT_EQ(hello->stderr_text(), "to stderr\n");
  bool held = false;
  int held_pid = -1;
  for (const auto& e : run.events()) {
    if (e.what() == "held" && e.actor() == "printer") held = true;
    if ((e.what() == "arrived" || e.what() == "arrived_early") && e.actor() == "printer") {
      EXPECT_EQ(e.comm(), "printer");
      EXPECT_EQ(e.symbol().rfind("__x64_sys_getppid", 0), 0u) << e.symbol();
      held_pid = e.pid();
    }
  }
  EXPECT_TRUE(held) << "the hold in getppid never held printer";
  ASSERT_GT(held_pid, 0) << "printer never arrived at getppid";
  EXPECT_NE(out.find("pid=" + std::to_string(held_pid) + " "), std::string::npos)
      << "held pid " << held_pid << ", the program said: " << out;
  const auto* prepared = exec_event(run, "prepare", "hello");
  ASSERT_NE(prepared, nullptr) << agent_log(run);
  EXPECT_NE(prepared->stdout_text().find(" prepare\n"), std::string::npos) << prepared->stdout_text();

  // Each bad program: actor, program and reason.
  const auto* segv = exec_event(run, "segv", "segv");
  ASSERT_NE(segv, nullptr) << agent_log(run);
  EXPECT_EQ(segv->kind(), racerig::pb::AgentEvent::OP_FAILED);
  EXPECT_EQ(segv->signal(), 11);
  EXPECT_NE(segv->message().find("program segv killed by SIGSEGV (11)"), std::string::npos) << segv->message();

  const auto* exit3 = exec_event(run, "exit3", "exit3");
  ASSERT_NE(exit3, nullptr) << agent_log(run);
  EXPECT_EQ(exit3->kind(), racerig::pb::AgentEvent::OP_FAILED);
  EXPECT_EQ(exit3->exit_code(), 3);
  EXPECT_NE(exit3->message().find("program exit3 exited with 3 (expected 0)"), std::string::npos) << exit3->message();

  const auto* loud = exec_event(run, "loud", "loud");
  ASSERT_NE(loud, nullptr) << agent_log(run);
  EXPECT_EQ(loud->kind(), racerig::pb::AgentEvent::OP_OK) << loud->message();
  EXPECT_EQ(loud->stdout_text().size(), 8192u);
  EXPECT_EQ(loud->stdout_cut(), 100u * 1048576u - 8192u);
  EXPECT_NE(loud->message().find("stdout 104857600 bytes (104849408 cut, the first 8192 kept)"), std::string::npos)
      << loud->message();

  const auto* endless = exec_event(run, "endless", "endless");
  ASSERT_NE(endless, nullptr) << agent_log(run);
  EXPECT_EQ(endless->kind(), racerig::pb::AgentEvent::OP_FAILED);
  EXPECT_NE(endless->message().find("program endless still running after 3000 ms: killed with its process group"),
            std::string::npos)
      << endless->message();

  const auto* bomb = exec_event(run, "check", "forkbomb");
  ASSERT_NE(bomb, nullptr) << agent_log(run);
  EXPECT_EQ(bomb->kind(), racerig::pb::AgentEvent::OP_FAILED);
  EXPECT_NE(bomb->message().find("program forkbomb still running after 5000 ms: killed with its process group ("),
            std::string::npos)
      << bomb->message();

  const auto* check = exec_event(run, "check", "check-fails");
  ASSERT_NE(check, nullptr) << agent_log(run);
  EXPECT_TRUE(check->check_failed());
  EXPECT_EQ(check->stderr_text(), "symptom seen\n");

  // The agent finished after all of it: DONE, every check op ran.
  bool done = false;
  for (const auto& e : run.agent())
    if (e.kind() == racerig::pb::AgentEvent::DONE) {
      done = true;
      EXPECT_EQ(e.check_ops_run(), 2) << e.message();
      EXPECT_EQ(e.check_ops_failed(), 2) << e.message();
    }
  EXPECT_TRUE(done) << r.output;
}

TEST(Programs, ASourceThatDoesNotCompileIsAnInputErrorWithTheCompilersMessage) {
  const fs::path dir = temp_path("broken");
  fs::create_directories(dir);
  std::ofstream(dir / "broken.c") << "int main(void) {\n  return not_declared;\n}\n";
  std::ofstream(dir / "broken.textproto") << "name: \"broken\"\n"
                                             "programs { name: \"broken\" source: \"broken.c\" }\n"
                                             "workload { actors { name: \"a\" cpu: 0 ops { exec { program: \"broken\" } } } }\n"
                                             "expect { guest_check_fails: true }\n";
  const std::string json = temp_path("broken.json");
  Ran r = run_cli("reproduce --scenario " + (dir / "broken.textproto").string() + " --kernel fixed --json " + json);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("program \"broken\" (" + (dir / "broken.c").string() + ") does not compile"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("broken.c:2:10: error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not_declared"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("booting"), std::string::npos) << "nothing booted";
  fs::remove(json);
  fs::remove_all(dir);
}

}  // namespace
