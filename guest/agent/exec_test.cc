// The exec op on the host: shell scripts stand in for the scenario's
// programs (a script's comm comes from its file name, as a binary's does).
#include "guest/agent/exec.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "guest/agent/event_line.h"
#include "guest/agent/ops.h"
#include "guest/agent/test_util.h"

namespace racerig::agent {
namespace {

using testing::TempDir;

class ExecTest : public ::testing::Test {
 protected:
  ExecTest() {
    std::filesystem::create_directories(dir / "programs");
    config.programs_dir = dir / "programs";
    config.links_dir = dir / "links";
  }
  void program(const std::string& name, const std::string& body) {
    const std::string path = config.programs_dir + "/" + name;
    testing::spit(path, "#!/bin/sh\n" + body + "\n");
    ::chmod(path.c_str(), 0755);
  }
  pb::AgentEvent run(const std::string& text) {
    OpEnv env;
    env.exec = config;
    return OpRunner(env).run(testing::op(text));
  }
  TempDir dir;
  ExecConfig config;
};

TEST_F(ExecTest, RunsTheProgramWithArgvEnvAndTheCallersCommAndKeepsItsOutput) {
  program("hello", "read comm < /proc/$$/comm; echo \"comm=$comm args=$1,$2 K=$K\"; echo oops >&2; exit 0");
  ::prctl(PR_SET_NAME, "faulter", 0, 0, 0);
  pb::AgentEvent e = run(R"(exec { program: "hello" argv: "-m" argv: "/dev/ptmx" env: "K=V" })");
  char now[17] = {};
  ::prctl(PR_GET_NAME, now, 0, 0, 0);
  EXPECT_STREQ(now, "faulter");  // restored after the program
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_OK) << e.message();
  EXPECT_EQ(e.op(), "exec");
  EXPECT_EQ(e.program(), "hello");
  EXPECT_EQ(e.exit_code(), 0);
  EXPECT_EQ(e.stdout_text(), "comm=faulter args=-m,/dev/ptmx K=V\n");
  EXPECT_EQ(e.stderr_text(), "oops\n");
  EXPECT_EQ(e.stdout_cut(), 0u);
  EXPECT_NE(e.message().find("program hello exited with 0; stdout 35 bytes; stderr 5 bytes"), std::string::npos)
      << e.message();
}

TEST_F(ExecTest, AnExitOtherThanExpectExitIsAFailedCheck) {
  program("three", "exit 3");
  pb::AgentEvent e = run(R"(exec { program: "three" })");
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_TRUE(e.check_failed());
  EXPECT_EQ(e.exit_code(), 3);
  EXPECT_NE(e.message().find("program three exited with 3 (expected 0)"), std::string::npos) << e.message();
  EXPECT_EQ(run(R"(exec { program: "three" expect_exit: 3 })").kind(), pb::AgentEvent::OP_OK);
}

TEST_F(ExecTest, ASignalFailsTheOpNamingIt) {
  program("segv", "kill -SEGV $$");
  pb::AgentEvent e = run(R"(exec { program: "segv" })");
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_EQ(e.signal(), SIGSEGV);
  EXPECT_EQ(e.exit_code(), -1);
  EXPECT_NE(e.message().find("program segv killed by SIGSEGV (11)"), std::string::npos) << e.message();
}

TEST_F(ExecTest, OutputIsBoundedAndTheEventSaysWhatWasCut) {
  program("loud", "/usr/bin/head -c 100000000 /dev/zero");
  pb::AgentEvent e = run(R"(exec { program: "loud" })");
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_OK) << e.message();
  EXPECT_EQ(e.stdout_text().size(), config.output_limit);
  EXPECT_EQ(e.stdout_cut(), 100000000u - config.output_limit);
  EXPECT_NE(e.message().find("stdout 100000000 bytes (" + std::to_string(100000000u - config.output_limit) +
                             " cut, the first " + std::to_string(config.output_limit) + " kept)"),
            std::string::npos)
      << e.message();
}

// The worst output for the event line (every byte escaped, on both streams)
// still fits the host's 64 KiB line limit.
TEST_F(ExecTest, TheEventLineStaysUnderTheHostsLineLimit) {
  program("newlines", "/usr/bin/head -c 1000000 /dev/zero | /usr/bin/tr '\\0' '\\n'; "
                      "/usr/bin/head -c 1000000 /dev/zero | /usr/bin/tr '\\0' '\\\\' >&2");
  pb::AgentEvent e = run(R"(exec { program: "newlines" })");
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_OK) << e.message();
  EXPECT_EQ(e.stdout_text(), std::string(config.output_limit, '\n'));
  EXPECT_EQ(e.stderr_text(), std::string(config.output_limit, '\\'));
  EXPECT_LT(format_event_line(e).size(), 64u * 1024u);
}

TEST_F(ExecTest, AProgramThatNeverEndsIsKilledWithEveryProcessItStarted) {
  // Background children that would outlive it, then an endless loop.
  program("endless", "for i in 1 2 3 4 5 6 7 8; do /bin/sleep 1000 & done; while :; do :; done");
  pb::AgentEvent e = run(R"(exec { program: "endless" timeout_ms: 500 })");
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_FALSE(e.check_failed());
  EXPECT_NE(e.message().find("program endless still running after 500 ms: killed with its process group (9 processes)"),
            std::string::npos)
      << e.message();
}

TEST_F(ExecTest, TheTimeoutIsCappedAndProcessesLeftBehindAreKilled) {
  config.max_timeout = std::chrono::milliseconds(300);
  program("forever", "while :; do :; done");
  EXPECT_NE(run(R"(exec { program: "forever" timeout_ms: 100000 })").message().find("still running after 300 ms"),
            std::string::npos);
  program("leaver", "/bin/sleep 1000 & exit 0");
  pb::AgentEvent e = run(R"(exec { program: "leaver" })");
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_OK) << e.message();
  EXPECT_NE(e.message().find("1 processes it left behind killed"), std::string::npos) << e.message();
}

TEST_F(ExecTest, AMissingProgramIsNamed) {
  pb::AgentEvent e = run(R"(exec { program: "nope" })");
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_NE(e.message().find("program nope: " + config.programs_dir + "/nope: No such file"), std::string::npos)
      << e.message();
}

}  // namespace
}  // namespace racerig::agent
