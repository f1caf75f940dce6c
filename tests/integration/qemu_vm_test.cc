// The Vm and the RSP client against a real QEMU 7.2 (firmware only: SeaBIOS,
// no kernel), under TCG with two vCPUs and the NVDIMM: start paused, QMP,
// the gdbstub's handshake, a breakpoint in the BIOS that one vCPU hits,
// per-vCPU resume, registers and memory, interrupt, and cleanup on every path.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "rig/gdbremote/client.h"
#include "rig/qemu/vm.h"

namespace racerig::qemu {
namespace {

using gdbremote::BreakpointKind;
using gdbremote::Client;

Deadline soon() { return Deadline::after(std::chrono::milliseconds(30000)); }

machine::VmConfig firmware_config() {
  machine::VmConfig cfg;
  cfg.firmware_only = true;
  cfg.memory_mb = 128;
  cfg.pmem_mb = 16;
  return cfg;
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST(Vm, StartsPausedAndCleansUpOnShutdown) {
  auto vm = Vm::start(firmware_config(), soon());
  ASSERT_TRUE(vm.ok()) << vm.error().message;
  const pid_t pid = (*vm)->pid();
  const auto dir = (*vm)->run_dir();
  EXPECT_TRUE(std::filesystem::exists(dir / "pmem.img"));
  EXPECT_EQ(std::filesystem::file_size(dir / "pmem.img"), 16u << 20);
  auto status = (*vm)->qmp("query-status", "", soon());
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_NE(status->find("\"prelaunch\""), std::string::npos) << *status;
  auto bad = (*vm)->qmp("no-such-command", "", soon());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("CommandNotFound"), std::string::npos) << bad.error().message;
  Status s = (*vm)->shutdown(soon());
  EXPECT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE((*vm)->exited());
  EXPECT_FALSE(process_exists(pid));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(Vm, DestructorAloneCleansUp) {
  pid_t pid;
  std::filesystem::path dir;
  {
    auto vm = Vm::start(firmware_config(), soon());
    ASSERT_TRUE(vm.ok()) << vm.error().message;
    pid = (*vm)->pid();
    dir = (*vm)->run_dir();
  }
  EXPECT_FALSE(process_exists(pid));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

// The QEMU process of `vm` (inside the sandbox: a descendant of the process
// we spawned whose command is QEMU's), or -1.
pid_t qemu_of(const Vm& vm) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(e.path() / "comm");
    std::string c;
    std::getline(comm, c);
    if (c.rfind("qemu-system", 0) != 0) continue;
    std::ifstream cmdline(e.path() / "cmdline");
    std::string line((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if (line.find(vm.run_dir().string() + "/") != std::string::npos) return static_cast<pid_t>(std::stol(name));
  }
  return -1;
}

// Issue 15: QEMU killed under us is named as such, although the process we
// spawned is bubblewrap (whose own status is an exit code); and a killed
// sandbox says it is the sandbox.
TEST(Vm, AKilledQemuSaysItWasKilled) {
  auto vm = Vm::start(firmware_config(), soon());
  ASSERT_TRUE(vm.ok()) << vm.error().message;
  const pid_t qemu = qemu_of(**vm);
  ASSERT_GT(qemu, 0);
  EXPECT_EQ((*vm)->exit_text(), "") << "still running";
  ASSERT_EQ(::kill(qemu, SIGKILL), 0);
  ASSERT_TRUE((*vm)->wait_exit(soon()).ok());
  EXPECT_TRUE((*vm)->exit_failed());
  EXPECT_EQ((*vm)->exit_status(), 137);
  EXPECT_EQ((*vm)->exit_text().rfind("QEMU was killed by signal 9 (SIGKILL)", 0), 0u) << (*vm)->exit_text();

  auto again = Vm::start(firmware_config(), soon());
  ASSERT_TRUE(again.ok()) << again.error().message;
  ASSERT_EQ(::kill((*again)->pid(), SIGKILL), 0);  // the sandbox itself
  ASSERT_TRUE((*again)->wait_exit(soon()).ok());
  EXPECT_TRUE((*again)->exit_failed());
  const std::string text = (*again)->exit_text();
  if (std::getenv("RACERIG_SANDBOX") != nullptr && std::string(std::getenv("RACERIG_SANDBOX")) == "off")
    EXPECT_EQ(text.rfind("QEMU was killed by signal 9 (SIGKILL)", 0), 0u) << text;
  else
    EXPECT_EQ(text.rfind("QEMU's sandbox (bubblewrap) was killed by signal 9 (SIGKILL) without reporting QEMU's end", 0),
              0u)
        << text;
}

TEST(Vm, AQemuThatQuitsExitsZero) {
  auto vm = Vm::start(firmware_config(), soon());
  ASSERT_TRUE(vm.ok()) << vm.error().message;
  (void)(*vm)->qmp("quit", "", soon());
  ASSERT_TRUE((*vm)->wait_exit(soon()).ok());
  EXPECT_FALSE((*vm)->exit_failed()) << (*vm)->exit_text();
  EXPECT_EQ((*vm)->exit_text().rfind("QEMU exited with status 0", 0), 0u) << (*vm)->exit_text();
}

TEST(Vm, MissingKernelIsAnInputErrorNamingIt) {
  machine::VmConfig cfg;
  cfg.bzimage = "/nonexistent/bzImage";
  cfg.initrd = "/nonexistent/initrd";
  auto vm = Vm::start(cfg, soon());
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().kind, ErrorKind::kInput);
  EXPECT_NE(vm.error().message.find("/nonexistent/bzImage"), std::string::npos);
}

TEST(Vm, QemuThatCannotStartQuotesItsStderr) {
  machine::VmConfig cfg = firmware_config();
  cfg.memory_mb = 1 << 30;  // more than any host: QEMU refuses
  auto vm = Vm::start(cfg, soon());
  ASSERT_FALSE(vm.ok());
  EXPECT_NE(vm.error().message.find("QEMU exited"), std::string::npos) << vm.error().message;
}

TEST(Vm, ARunDirTheUnprivilegedQemuCannotReachIsAnInputErrorNamingTheDir) {
  if (::geteuid() != 0) GTEST_SKIP() << "QEMU runs as another user only when racerig is root";
  char templ[] = "/tmp/racerig-closed-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr);  // mode 0700, root's
  machine::VmConfig cfg = firmware_config();
  cfg.run_parent = templ;
  auto vm = Vm::start(cfg, soon());
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().kind, ErrorKind::kInput);
  EXPECT_NE(vm.error().message.find(std::string(templ) + " (mode 0700) is closed to it"), std::string::npos)
      << vm.error().message;
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(templ, ec)) << "the run dir is left behind";
  std::filesystem::remove_all(templ, ec);
}

TEST(Gdbstub, BreakpointHoldAndResumeOnRealQemu) {
  auto started = Vm::start(firmware_config(), soon());
  ASSERT_TRUE(started.ok()) << started.error().message;
  Vm& vm = **started;
  auto conn = gdbremote::Connection::connect_unix(vm.gdb_socket_path(), soon());
  ASSERT_TRUE(conn.ok()) << conn.error().message;
  Client c(std::move(*conn));
  Status hs = c.handshake(soon());
  ASSERT_TRUE(hs.ok()) << hs.error().message;
  for (const char* name : {"rip", "rdx", "gs_base", "eflags"}) {
    bool found = false;
    for (const auto& r : c.registers()) found = found || r.name == name;
    EXPECT_TRUE(found) << "QEMU's target description has no " << name;
  }
  auto threads = c.threads(soon());
  ASSERT_TRUE(threads.ok()) << threads.error().message;
  EXPECT_EQ(*threads, (std::vector<int>{1, 2}));

  // vCPU 0 starts at the reset vector; the far jump there goes to the BIOS's
  // entry point, read from memory.
  auto rip = c.read_register(1, "rip", soon());
  ASSERT_TRUE(rip.ok()) << rip.error().message;
  EXPECT_EQ(*rip, 0xfff0u);
  auto jump = c.read_memory(1, GuestAddr(0xffff0), 5, soon());
  ASSERT_TRUE(jump.ok()) << jump.error().message;
  ASSERT_EQ((*jump)[0], 0xea);  // ljmp ptr16:16
  const uint64_t entry = 0xf0000u + ((*jump)[1] | (*jump)[2] << 8);

  ASSERT_TRUE(c.insert_breakpoint(GuestAddr(entry), BreakpointKind::kSoftware, soon()).ok());
  ASSERT_TRUE(c.resume({{1, Client::ThreadAction::kContinue}}, soon()).ok());
  auto hit = c.wait_stop(soon(), vm.event_fd());
  ASSERT_TRUE(hit.ok()) << hit.error().message;
  while (hit.ok() && hit->woken) {  // console bytes are not stops
    vm.drain_events();
    hit = c.wait_stop(soon(), vm.event_fd());
  }
  ASSERT_TRUE(hit.ok()) << hit.error().message;
  EXPECT_EQ(hit->stop.signal, 5);
  EXPECT_EQ(hit->stop.thread, 1);
  auto at = c.read_register(1, "rip", soon());
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(*at, entry & 0xffff);  // rip is the offset in the F000 segment

  // Step the held vCPU past the breakpoint with the breakpoint removed.
  ASSERT_TRUE(c.remove_breakpoint(GuestAddr(entry), BreakpointKind::kSoftware, soon()).ok());
  auto stepped = c.step(1, soon());
  ASSERT_TRUE(stepped.ok()) << stepped.error().message;
  EXPECT_EQ(stepped->thread, 1);
  auto after = c.read_register(1, "rip", soon());
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*after, entry & 0xffff);

  // Run everything, then stop it from the outside.
  ASSERT_TRUE(c.resume({{1, Client::ThreadAction::kContinue}, {2, Client::ThreadAction::kContinue}}, soon()).ok());
  auto stop = c.interrupt(soon());
  ASSERT_TRUE(stop.ok()) << stop.error().message;
  EXPECT_FALSE(c.running());
  auto status = vm.qmp("query-status", "", soon());
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->find("\"paused\""), std::string::npos) << *status;

  // A wrong request is an error, and the connection goes on working.
  auto nowhere = c.read_memory(1, GuestAddr(0xffffffffffff0000ull), 8, soon());
  EXPECT_FALSE(nowhere.ok());
  EXPECT_TRUE(c.read_register(2, "rip", soon()).ok());
  EXPECT_TRUE(vm.shutdown(soon()).ok());
}

}  // namespace
}  // namespace racerig::qemu
