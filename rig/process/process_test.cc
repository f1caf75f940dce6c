// The subprocess helper against real commands (sh, sleep, cat): output and
// exit codes, stdin without SIGPIPE, deadlines and cancellation that leave
// nothing of the process group running; owners of leftovers; the sandbox
// command lines.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "rig/process/cancel.h"
#include "rig/process/process.h"
#include "rig/process/sandbox.h"
#include "rig/process/stale.h"

namespace racerig::process {
namespace {

using std::chrono::milliseconds;

Limits within(int ms) {
  Limits l;
  l.deadline = Deadline::after(milliseconds(ms));
  l.grace = milliseconds(500);
  return l;
}

// Killed processes may stay zombies until their reaper (init) collects
// them: waits up to 10 s for the group to be gone. A poll of the state with
// a deadline: they are not our children, so no event tells of their reaping.
bool group_has_processes(pid_t pgid) {
  for (int i = 0; i < 100; ++i) {
    if (::kill(-pgid, 0) != 0) return false;
    ::usleep(100000);
  }
  return true;
}

TEST(Run, CollectsOutputLinesAndTheExitCode) {
  std::vector<std::string> lines;
  auto e = run(Spec{{"sh", "-c", "echo one; echo two >&2; exit 3"}}, within(10000), {},
               [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->code, 3);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
}

TEST(Run, AMissingProgramIsAnInputErrorNamingIt) {
  auto e = run(Spec{{"racerig-no-such-program"}}, within(10000));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::kInput);
  EXPECT_NE(e.error().message.find("racerig-no-such-program"), std::string::npos) << e.error().message;
}

TEST(Run, AMissingDirectoryIsNamed) {
  Spec s{{"true"}};
  s.cwd = "/nonexistent-racerig-dir";
  auto e = run(s, within(10000));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("/nonexistent-racerig-dir"), std::string::npos) << e.error().message;
}

TEST(Run, FeedsStdin) {
  Spec s{{"cat"}};
  s.stdin_data = std::string(300000, 'x') + "\nend";
  auto e = run(s, within(10000));
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->output, s.stdin_data);
}

TEST(Run, AChildThatIgnoresItsStdinDoesNotKillUsWithSigpipe) {
  // SIGPIPE keeps its default action in this process: a write to a closed
  // pipe would kill the test.
  struct sigaction old {};
  ::sigaction(SIGPIPE, nullptr, &old);
  EXPECT_EQ(old.sa_handler, SIG_DFL);
  Spec s{{"true"}};
  s.stdin_data = std::string(4 << 20, 'y');
  auto e = run(s, within(10000));
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->code, 0);
}

TEST(Run, TheDeadlineStopsTheWholeGroup) {
  const auto marker = std::filesystem::temp_directory_path() / ("racerig-pt-" + std::to_string(::getpid()));
  // The shell's child records its group; both must be gone afterwards.
  Spec s{{"sh", "-c", "sleep 1000 & echo $$ > " + marker.string() + "; wait"}};
  auto e = run(s, within(1500));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::kTimeout);
  EXPECT_NE(e.error().message.find("sleep 1000"), std::string::npos) << e.error().message;
  std::ifstream in(marker);
  pid_t pgid = 0;
  in >> pgid;
  ASSERT_GT(pgid, 0);
  EXPECT_FALSE(group_has_processes(pgid)) << "the background sleep survived";
  std::filesystem::remove(marker);
}

TEST(Run, AChildThatIgnoresSigtermIsKilledAfterTheGrace) {
  Spec s{{"sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"}};
  auto e = run(s, within(500));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::kTimeout);
}

TEST(Run, LeftoversOfTheGroupAreKilledWhenTheChildExits) {
  const auto marker = std::filesystem::temp_directory_path() / ("racerig-pt2-" + std::to_string(::getpid()));
  Spec s{{"sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $$ > " + marker.string()}};
  auto e = run(s, within(10000));
  ASSERT_TRUE(e.ok()) << e.error().message;
  std::ifstream in(marker);
  pid_t pgid = 0;
  in >> pgid;
  ASSERT_GT(pgid, 0);
  EXPECT_FALSE(group_has_processes(pgid));
  std::filesystem::remove(marker);
}

TEST(Child, DescribesASignalDeath) {
  auto c = Child::spawn(Spec{{"sleep", "1000"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  c->signal_group(SIGKILL);
  ASSERT_TRUE(c->wait(Deadline::after(milliseconds(10000))));
  EXPECT_EQ(c->exit_code(), 128 + SIGKILL);
  EXPECT_EQ(c->describe_exit(), "was killed by signal 9 (SIGKILL)");
}

TEST(Child, DestructionKillsAndReaps) {
  pid_t pid;
  {
    auto c = Child::spawn(Spec{{"sleep", "1000"}});
    ASSERT_TRUE(c.ok()) << c.error().message;
    pid = c->pid();
  }
  EXPECT_NE(::kill(pid, 0), 0) << "still there (or a zombie)";
}

TEST(Child, SwitchesToTheWorkerUserWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto who = worker_identity();
  if (!who.ok()) GTEST_SKIP() << who.error().message;
  Spec s{{"id", "-u"}};
  s.identity = **who;
  auto e = run(s, within(10000));
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->output, std::to_string((*who)->uid) + "\n");
}

// Before the cancellation test below (which cancels everything after it).
TEST(SandboxRun, BuildSeesNoHostStateWhenRun) {
  // Runs bwrap: what a build inside can list of the host.
  ::unsetenv("RACERIG_SANDBOX");
  if (::system("bwrap --unshare-all --ro-bind / / true >/dev/null 2>&1") != 0) GTEST_SKIP() << "bwrap cannot run here";
  char dir[] = "/tmp/racerig-sandbox-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  Spec spec;
  spec.argv = build_sandbox_argv({dir, dir, {}, {}},
                                 {"sh", "-c", "ls -a / | tr '\\n' ' '; echo; ls -a /etc | tr '\\n' ' '; echo; "
                                              "touch ./w && echo tree-writable; touch /x 2>/dev/null || echo root-ro"});
  Limits limits;
  limits.deadline = Deadline::after(std::chrono::seconds(60));
  auto ran = run(spec, limits);
  ASSERT_TRUE(ran.ok()) << ran.error().message;
  EXPECT_EQ(ran->code, 0) << ran->output;
  for (const char* never : {" var ", " home ", " root ", " srv ", " work ", " opt ", " mnt ", " passwd "})
    EXPECT_EQ(ran->output.find(never), std::string::npos) << never << " visible: " << ran->output;
  EXPECT_NE(ran->output.find(" usr "), std::string::npos) << ran->output;
  EXPECT_NE(ran->output.find("tree-writable"), std::string::npos) << ran->output;
  EXPECT_NE(ran->output.find("root-ro"), std::string::npos) << ran->output;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// Last: cancellation is process-wide and cannot be undone.
TEST(RunZZ, CtrlCStopsTheGroupAndSaysInterrupted) {
  install_cancel_handlers();
  // Ctrl-C once the child runs.
  Spec s{{"sh", "-c", "echo started; sleep 1000 & wait"}};
  auto e = run(s, within(60000), {}, [](const std::string& line) {
    if (line == "started") ::kill(::getpid(), SIGINT);
  });
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::kCancelled);
  EXPECT_NE(e.error().message.find("interrupted"), std::string::npos);
}

TEST(Stale, StampsTellTheOwnerFromAReusedPid) {
  ProcessStamp me = self_stamp();
  EXPECT_TRUE(is_alive(me));
  EXPECT_FALSE(is_alive(ProcessStamp{me.pid, me.start + 1}));
  EXPECT_EQ(parse_stamp(format_stamp(me) + "\n"), me);
  EXPECT_FALSE(parse_stamp("12"));
  EXPECT_FALSE(parse_stamp("x 12"));
  EXPECT_FALSE(parse_stamp("0 12"));
  auto c = Child::spawn(Spec{{"true"}});
  ASSERT_TRUE(c.ok());
  pid_t dead = c->pid();
  c->wait(Deadline::after(milliseconds(10000)));
  EXPECT_FALSE(pid_alive(dead));
  EXPECT_TRUE(pid_alive(::getpid()));
}

TEST(Stale, TempNamesCarryTheirPid) {
  EXPECT_EQ(temp_name_pid("0123abcd.tmp4242"), 4242);
  EXPECT_EQ(temp_name_pid("t.img.77.new"), 77);
  EXPECT_FALSE(temp_name_pid("0123abcd"));
  EXPECT_FALSE(temp_name_pid("x.tmp"));
  EXPECT_FALSE(temp_name_pid("a.b.new"));
  EXPECT_FALSE(temp_name_pid("x.tmp12y"));
}

TEST(Sandbox, BuildTreeIsTheOnlyWritablePlace) {
  ::unsetenv("RACERIG_SANDBOX");
  auto argv = build_sandbox_argv({"/c/trees/k/src", "/c/trees/k/src", {}, {"/c"}}, {"make", "-j2"});
  std::string text = command_text(argv);
  EXPECT_EQ(argv.front(), "bwrap");
  EXPECT_NE(text.find("--unshare-all --die-with-parent"), std::string::npos) << text;
  // Not the host's root: the toolchain, the listed /etc files, and no more.
  EXPECT_EQ(text.find("--ro-bind / /"), std::string::npos) << text;
  EXPECT_NE(text.find("--ro-bind /usr /usr"), std::string::npos) << text;
  for (const auto& f : build_etc_files()) EXPECT_NE(text.find("--ro-bind-try " + f + " " + f), std::string::npos) << f;
  for (const char* never : {"/var", "/home", "/root", "/srv", "/work", "/etc "})
    EXPECT_EQ(text.find(std::string(" ") + never), std::string::npos) << never << " in " << text;
  // The root itself is read-only once everything is mounted.
  EXPECT_LT(text.find("--bind /c/trees/k/src /c/trees/k/src"), text.find("--remount-ro /")) << text;
  // The cache is hidden before the tree is bound (order matters).
  EXPECT_LT(text.find("--tmpfs /c "), text.find("--bind /c/trees/k/src /c/trees/k/src")) << text;
  EXPECT_NE(text.find("-- make -j2"), std::string::npos) << text;
  EXPECT_EQ(text.find("--share-net"), std::string::npos);
  // A candidate's copy appears at the trusted tree's path.
  auto moved = command_text(build_sandbox_argv({"/c/cand/x.tmp1/src", "/c/trees/k/src", "/c/trees/k/src", {"/c"}}, {"make"}));
  EXPECT_NE(moved.find("--bind /c/cand/x.tmp1/src /c/trees/k/src "), std::string::npos) << moved;
  EXPECT_NE(moved.find("--chdir /c/trees/k/src -- make"), std::string::npos) << moved;
}

TEST(Sandbox, BuildSeesItsTarballReadOnly) {
  ::unsetenv("RACERIG_SANDBOX");
  BuildSandbox box{"/c/trees/k/src", "/c/trees/k/src", {}, {"/c"}, {"/srv/src/linux.tar.xz"}};
  std::string text = command_text(build_sandbox_argv(box, {"tar", "-xJf", "/srv/src/linux.tar.xz"}));
  EXPECT_NE(text.find("--ro-bind /srv/src/linux.tar.xz /srv/src/linux.tar.xz"), std::string::npos) << text;
  EXPECT_EQ(text.find("--bind /srv"), std::string::npos) << text;
}


TEST(Sandbox, VmBindsOnlyTheRunDirectory) {
  ::unsetenv("RACERIG_SANDBOX");
  auto argv = vm_sandbox_argv({7, "/tmp/racerig-run-x", false}, {"qemu-system-x86_64", "-S"});
  std::string text = command_text(argv);
  EXPECT_NE(text.find("--bind-fd 7 /tmp/racerig-run-x"), std::string::npos) << text;
  EXPECT_EQ(text.find("/dev/kvm"), std::string::npos);
  EXPECT_NE(text.find("-- qemu-system-x86_64 -S"), std::string::npos);
  ::setenv("RACERIG_SANDBOX", "off", 1);
  EXPECT_EQ(vm_sandbox_argv({7, "/r", true}, {"q"}), std::vector<std::string>{"q"});
  ::unsetenv("RACERIG_SANDBOX");
}

TEST(Sandbox, VmBindsMappedFilesAfterTheRunDirectory) {
  ::unsetenv("RACERIG_SANDBOX");
  VmSandbox box{7, "/tmp/racerig-run-x", false, {{9, "/tmp/racerig-run-x/ram-mapped.img"}}};
  std::string text = command_text(vm_sandbox_argv(box, {"qemu-system-x86_64"}));
  // Bound onto its placeholder inside the run dir, so after the run dir.
  EXPECT_LT(text.find("--bind-fd 7 /tmp/racerig-run-x "), text.find("--bind-fd 9 /tmp/racerig-run-x/ram-mapped.img"))
      << text;
  EXPECT_LT(text.find("--bind-fd 9"), text.find("-- qemu-system-x86_64")) << text;
}

TEST(Sandbox, VmStatusGoesToItsFd) {
  ::unsetenv("RACERIG_SANDBOX");
  VmSandbox box{7, "/tmp/racerig-run-x", false, {}, 11};
  std::string text = command_text(vm_sandbox_argv(box, {"qemu-system-x86_64"}));
  EXPECT_NE(text.find("--json-status-fd 11 "), std::string::npos) << text;
  EXPECT_LT(text.find("--json-status-fd 11"), text.find("-- qemu-system-x86_64")) << text;
  EXPECT_EQ(command_text(vm_sandbox_argv({7, "/r", false}, {"q"})).find("--json-status-fd"), std::string::npos);
}

}  // namespace
}  // namespace racerig::process
