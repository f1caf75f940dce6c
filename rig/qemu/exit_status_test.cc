// QEMU's end described from real wait statuses (a child killed or exiting).
#include "rig/qemu/exit_status.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace racerig::qemu {
namespace {

// The wait status of a child that runs `body`.
template <typename F>
int status_of(F body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(QemuExit, AKillIsNamedWithItsSignal) {
  int status = status_of([] { ::raise(SIGKILL); });
  EXPECT_EQ(describe_qemu_exit(status, ""), "QEMU was killed by signal 9 (SIGKILL); its stderr is empty");
}

TEST(QemuExit, AnExitGivesItsStatusAndTheEndOfStderr) {
  int status = status_of([] { ::_exit(1); });
  std::string text = "line 1\n";
  for (int i = 2; i <= 12; ++i) text += "line " + std::to_string(i) + "\r\n\n";
  text += "qemu-system-x86_64: -device nvdimm: memory size 0 is not allowed";
  std::string said = describe_qemu_exit(status, text, 3);
  EXPECT_EQ(said,
            "QEMU exited with status 1; its stderr ends:\nline 11\nline 12\n"
            "qemu-system-x86_64: -device nvdimm: memory size 0 is not allowed");
}

TEST(QemuExit, InsideTheSandboxQemusOwnStatusIsUsed) {
  // bwrap exited normally with QEMU's code; its wait status is not QEMU's.
  const int bwrap = status_of([] { ::_exit(137); });
  EXPECT_EQ(describe_sandboxed_qemu_exit(137, bwrap, ""), "QEMU was killed by signal 9 (SIGKILL); its stderr is empty");
  EXPECT_EQ(describe_sandboxed_qemu_exit(143, bwrap, "x\n"), "QEMU was killed by signal 15 (SIGTERM); its stderr ends:\nx");
  EXPECT_EQ(describe_sandboxed_qemu_exit(1, status_of([] { ::_exit(1); }), "qemu: bad option\n"),
            "QEMU exited with status 1; its stderr ends:\nqemu: bad option");
}

TEST(QemuExit, AKillIsRecognisedInAnErrorMessage) {
  EXPECT_TRUE(says_qemu_was_killed("restoring: " + describe_sandboxed_qemu_exit(137, 0, "")));
  EXPECT_TRUE(says_qemu_was_killed(describe_qemu_exit(status_of([] {
                                                      ::signal(SIGTERM, SIG_DFL);  // other tests install a handler
                                                      ::raise(SIGTERM);
                                                    }),
                                                    "")));
  EXPECT_FALSE(says_qemu_was_killed(describe_sandboxed_qemu_exit(1, 0, "load of migration failed")));
  EXPECT_FALSE(says_qemu_was_killed(describe_sandboxed_qemu_exit(std::nullopt, status_of([] { ::raise(SIGKILL); }), "")));
}

TEST(QemuExit, ASandboxThatEndedWithoutAStatusSaysSo) {
  EXPECT_EQ(describe_sandboxed_qemu_exit(std::nullopt, status_of([] { ::_exit(1); }),
                                         "bwrap: execvp qemu: No such file or directory\n"),
            "QEMU's sandbox (bubblewrap) exited with status 1 without reporting QEMU's end; its stderr ends:\n"
            "bwrap: execvp qemu: No such file or directory");
  EXPECT_EQ(describe_sandboxed_qemu_exit(std::nullopt, status_of([] { ::raise(SIGKILL); }), ""),
            "QEMU's sandbox (bubblewrap) was killed by signal 9 (SIGKILL) without reporting QEMU's end; its stderr is "
            "empty");
}

}  // namespace
}  // namespace racerig::qemu
