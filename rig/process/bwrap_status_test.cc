// bubblewrap's status lines: what bwrap 0.8 writes (copied from a measured
// run), unknown members and objects, unfinished and broken lines.
#include "rig/process/bwrap_status.h"

#include <gtest/gtest.h>

namespace racerig::process {
namespace {

// As measured: `bwrap --unshare-all ... --json-status-fd 3 -- sh -c 'kill -9 $$'`.
constexpr char kKilled[] =
    "{ \"child-pid\": 13694, \"cgroup-namespace\": 4026532266, \"ipc-namespace\": 4026532264, \"mnt-namespace\": "
    "4026532262, \"net-namespace\": 4026532267, \"pid-namespace\": 4026532265, \"uts-namespace\": 4026532263 }\n"
    "{ \"exit-code\": 137 }\n";

TEST(BwrapStatus, AKilledCommand) {
  auto s = parse_bwrap_status(kKilled);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->child_pid, 13694);
  EXPECT_EQ(s->exit_code, 137);
  ShellExit e = decode_shell_exit(*s->exit_code);
  EXPECT_TRUE(e.signalled);
  EXPECT_EQ(e.value, 9);
}

TEST(BwrapStatus, StillRunningOrNeverStartedHasNoExitCode) {
  auto running = parse_bwrap_status("{ \"child-pid\": 42 }\n");
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->child_pid, 42);
  EXPECT_FALSE(running->exit_code.has_value());
  auto nothing = parse_bwrap_status("");
  ASSERT_TRUE(nothing.ok());
  EXPECT_FALSE(nothing->child_pid.has_value());
  EXPECT_FALSE(nothing->exit_code.has_value());
}

TEST(BwrapStatus, UnknownMembersAndObjectsAreIgnored) {
  auto s = parse_bwrap_status("{\"child-pid\": 7, \"new\": [1, 2]}\n{\"something\": \"else\"}\n\n{\"exit-code\": 1, "
                              "\"more\": null}\n");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->child_pid, 7);
  EXPECT_EQ(s->exit_code, 1);
}

TEST(BwrapStatus, AnUnfinishedLastLineIsIgnored) {
  auto s = parse_bwrap_status("{\"child-pid\": 7}\n{\"exit-co");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->child_pid, 7);
  EXPECT_FALSE(s->exit_code.has_value());
}

TEST(BwrapStatus, GarbageIsAnErrorNamingTheLine) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"{\"child-pid\": 7}\nnot json\n", "line 2: not JSON: \"not json\""},
      {"[1, 2]\n", "line 1: not a JSON object"},
      {"{\"child-pid\": \"7\"}\n", "child-pid is not a process id"},
      {"{\"child-pid\": -3}\n", "child-pid is not a process id"},
      {"{\"exit-code\": 256}\n", "exit-code is not an exit status"},
      {"{\"exit-code\": 1.5}\n", "exit-code is not an exit status"},
      {"{\"exit-code\": 1\n", "not JSON"},
  };
  for (const auto& c : cases) {
    auto s = parse_bwrap_status(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.error().kind, ErrorKind::kProtocol);
    EXPECT_NE(s.error().message.find(c.says), std::string::npos) << s.error().message;
  }
}

TEST(BwrapStatus, ShellEncoding) {
  EXPECT_FALSE(decode_shell_exit(0).signalled);
  EXPECT_EQ(decode_shell_exit(1).value, 1);
  EXPECT_FALSE(decode_shell_exit(128).signalled);
  EXPECT_TRUE(decode_shell_exit(143).signalled);
  EXPECT_EQ(decode_shell_exit(143).value, 15);
  EXPECT_TRUE(decode_shell_exit(192).signalled);  // signal 64
  EXPECT_FALSE(decode_shell_exit(193).signalled);
  EXPECT_EQ(decode_shell_exit(255).value, 255);
}

}  // namespace
}  // namespace racerig::process
