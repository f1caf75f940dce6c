// QEMU's end described from real wait statuses (a child killed or exiting).
#include "rig/qemu/exit_status.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace racerig::vm {
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

}  // namespace
}  // namespace racerig::vm
