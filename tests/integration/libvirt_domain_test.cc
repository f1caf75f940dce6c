// LibvirtVm and the sweeper against real libvirt (the embedded driver in
// racerig's cache, or RACERIG_LIBVIRT_URI) and a real QEMU, firmware only:
// the domain starts paused with the console and agent connected, the
// gdbstub answers on its UNIX socket and holds a vCPU at a breakpoint, QMP
// answers on its own socket, savevm/loadvm through the monitor passthrough,
// and nothing (domain, QEMU, run dir) is left after shutdown, after the
// destructor alone, or after the owner died (the sweeper).
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "rig/gdbremote/client.h"
#include "rig/kbuild/cache.h"
#include "rig/libvirt/connection.h"
#include "rig/libvirt/domain_xml.h"
#include "rig/libvirt/libvirt_vm.h"
#include "rig/process/proc_stat.h"

namespace racerig::libvirt {
namespace {

namespace fs = std::filesystem;
using gdbremote::Client;

Deadline soon() { return Deadline::after(std::chrono::seconds(300)); }

std::string test_uri() {
  const char* env = std::getenv("RACERIG_LIBVIRT_URI");
  return env != nullptr && *env != '\0' ? env : default_uri(kbuild::default_cache_root());
}

machine::VmConfig firmware_config() {
  machine::VmConfig cfg;
  cfg.firmware_only = true;
  cfg.memory_mb = 128;
  cfg.pmem_mb = 16;
  cfg.snapshot_drive = true;
  return cfg;
}

// QEMU processes whose command line names `dir`.
int qemus_naming(const fs::path& dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::ifstream in(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), {});
    if (cmd.find("qemu-system") != std::string::npos && cmd.find(dir.string()) != std::string::npos) ++n;
  }
  return n;
}

bool listed(const std::string& name) {
  auto conn = shared_connection(test_uri(), soon());
  if (!conn.ok()) return false;
  auto names = racerig_domains(**conn);
  if (!names.ok()) return false;
  for (const auto& n : *names)
    if (n == name) return true;
  return false;
}

TEST(LibvirtVm, DomainWithSocketsGdbstubQmpSnapshotsAndCleanup) {
  auto started = LibvirtVm::start(firmware_config(), test_uri(), soon());
  ASSERT_TRUE(started.ok()) << started.error().message;
  LibvirtVm& vm = **started;
  const fs::path dir = vm.run_dir();
  const std::string name = vm.domain_name();
  EXPECT_EQ(name.rfind("racerig-" + std::to_string(::getpid()) + "-", 0), 0u) << name;
  EXPECT_TRUE(listed(name));
  EXPECT_EQ(qemus_naming(dir), 1);

  auto status = vm.qmp("query-status", "", soon());
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_NE(status->find("\"prelaunch\""), std::string::npos) << *status;  // started paused: no vCPU ran

  auto conn = gdbremote::Connection::connect_unix(vm.gdb_socket_path(), soon());
  ASSERT_TRUE(conn.ok()) << conn.error().message;
  Client c(std::move(*conn));
  ASSERT_TRUE(c.handshake(soon()).ok());
  auto threads = c.threads(soon());
  ASSERT_TRUE(threads.ok()) << threads.error().message;
  EXPECT_EQ(*threads, (std::vector<int>{1, 2}));
  auto rip = c.read_register(1, "rip", soon());
  ASSERT_TRUE(rip.ok()) << rip.error().message;
  EXPECT_EQ(*rip, 0xfff0u);  // the reset vector: nothing ran yet
  auto jump = c.read_memory(1, GuestAddr(0xffff0), 5, soon());
  ASSERT_TRUE(jump.ok()) << jump.error().message;
  ASSERT_EQ((*jump)[0], 0xea);  // ljmp ptr16:16 to the BIOS entry
  const uint64_t entry = 0xf0000u + ((*jump)[1] | (*jump)[2] << 8);

  // Save at the reset vector, run vCPU 0 to the BIOS entry, restore: the
  // restored vCPU is back at the reset vector, and still stopped.
  Status saved = vm.save_snapshot("t0", soon());
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  ASSERT_TRUE(c.insert_breakpoint(GuestAddr(entry), gdbremote::BreakpointKind::kSoftware, soon()).ok());
  ASSERT_TRUE(c.resume({{1, Client::ThreadAction::kContinue}}, soon()).ok());
  auto hit = c.wait_stop(soon(), vm.event_fd());
  while (hit.ok() && hit->woken) {
    vm.drain_events();
    hit = c.wait_stop(soon(), vm.event_fd());
  }
  ASSERT_TRUE(hit.ok()) << hit.error().message;
  EXPECT_EQ(hit->stop.thread, 1);
  EXPECT_EQ(*c.read_register(1, "rip", soon()), entry & 0xffff);
  ASSERT_TRUE(c.remove_breakpoint(GuestAddr(entry), gdbremote::BreakpointKind::kSoftware, soon()).ok());
  Status loaded = vm.load_snapshot("t0", soon());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(*c.read_register(1, "rip", soon()), 0xfff0u);
  Status missing = vm.load_snapshot("no-such-snapshot", soon());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(name), std::string::npos) << missing.error().message;

  EXPECT_TRUE(vm.shutdown(soon()).ok());
  EXPECT_TRUE(vm.exited());
  EXPECT_FALSE(listed(name));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_EQ(qemus_naming(dir), 0);
}

TEST(LibvirtVm, DestructorAloneCleansUp) {
  std::string name;
  fs::path dir;
  {
    auto vm = LibvirtVm::start(firmware_config(), test_uri(), soon());
    ASSERT_TRUE(vm.ok()) << vm.error().message;
    name = (*vm)->domain_name();
    dir = (*vm)->run_dir();
    EXPECT_TRUE(listed(name));
  }
  EXPECT_FALSE(listed(name));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_EQ(qemus_naming(dir), 0);
}

TEST(LibvirtVm, MissingKernelIsAnInputErrorNamingIt) {
  machine::VmConfig cfg;
  cfg.bzimage = "/nonexistent/bzImage";
  cfg.initrd = "/nonexistent/initrd";
  auto vm = LibvirtVm::start(cfg, test_uri(), soon());
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().kind, ErrorKind::kInput);
  EXPECT_NE(vm.error().message.find("/nonexistent/bzImage"), std::string::npos);
}

TEST(LibvirtVm, QemuThatCannotStartIsAnErrorNamingTheDomain) {
  machine::VmConfig cfg = firmware_config();
  cfg.qemu = "/nonexistent/qemu-system-x86_64";
  auto vm = LibvirtVm::start(cfg, test_uri(), soon());
  ASSERT_FALSE(vm.ok());
  EXPECT_NE(vm.error().message.find("starting domain racerig-"), std::string::npos) << vm.error().message;
  EXPECT_NE(vm.error().message.find(test_uri()), std::string::npos) << vm.error().message;
}

// A domain whose owner died (here: a child that exited) is swept; one whose
// owner lives (this process) is not.
TEST(Sweeper, DestroysDomainsOfDeadOwnersOnly) {
  auto conn = shared_connection(test_uri(), soon());
  ASSERT_TRUE(conn.ok()) << conn.error().message;
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  OwnerTag dead = self_owner();
  dead.pid = child;
  dead.start_ticks = process::start_ticks_of(child).value_or(1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);

  auto live = LibvirtVm::start(firmware_config(), test_uri(), soon());
  ASSERT_TRUE(live.ok()) << live.error().message;
  // An orphan: the same machine, tagged with the dead child, in a run dir
  // of its own (the sweeper removes it).
  char templ[] = "/tmp/racerig-run-orphan-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr);
  const fs::path orphan_dir = templ;
  dead.run_dir = orphan_dir.string();
  DomainSpec spec;
  spec.name = std::string(kDomainPrefix) + "orphan-" + std::to_string(child);
  spec.memory_mb = 128;
  spec.pmem_mb = 16;
  spec.pmem_image = orphan_dir / "pmem.img";
  std::ofstream(spec.pmem_image).close();
  fs::resize_file(spec.pmem_image, 16u << 20);
  // Nobody reads the orphan's serial ports: the console's pipe chardev opens
  // the file `c` itself when c.in and c.out do not exist; the agent socket
  // becomes a file below.
  spec.console_pipe = orphan_dir / "c";
  std::ofstream(spec.console_pipe).close();
  spec.agent_socket = orphan_dir / "a.sock";
  spec.gdb_socket = orphan_dir / "gdb.sock";
  spec.qmp_socket = orphan_dir / "qmp.sock";
  spec.metadata_element = owner_element(dead);
  if (::geteuid() == 0) {  // as LibvirtVm does: QEMU runs as libvirt-qemu and owns the dir
    const passwd* pw = ::getpwnam("libvirt-qemu");
    ASSERT_NE(pw, nullptr);
    ASSERT_EQ(::chown(orphan_dir.c_str(), pw->pw_uid, pw->pw_gid), 0);
    ASSERT_EQ(::chown(spec.pmem_image.c_str(), pw->pw_uid, pw->pw_gid), 0);
    ASSERT_EQ(::chown(spec.console_pipe.c_str(), pw->pw_uid, pw->pw_gid), 0);
    spec.dac_label = "+" + std::to_string(pw->pw_uid) + ":+" + std::to_string(pw->pw_gid);
  }
  std::string xml = domain_xml(spec);
  // A file instead of the agent's socket (nobody listens).
  const std::string from = "<serial type=\"unix\">\n      <source mode=\"connect\" path=\"" + (orphan_dir / "a.sock").string() + "\" />";
  const std::string to = "<serial type=\"file\">\n      <source path=\"" + (orphan_dir / "a.sock").string() + ".log\" />";
  const size_t at = xml.find(from);
  ASSERT_NE(at, std::string::npos) << xml;
  xml.replace(at, from.size(), to);
  auto orphan = create_transient(**conn, xml, spec.name, true);
  ASSERT_TRUE(orphan.ok()) << orphan.error().message;
  EXPECT_TRUE(listed(spec.name));
  EXPECT_EQ(qemus_naming(orphan_dir), 1);

  auto swept = sweep(**conn);
  ASSERT_TRUE(swept.ok()) << swept.error().message;
  EXPECT_EQ(*swept, std::vector<std::string>{spec.name});
  EXPECT_FALSE(listed(spec.name));
  EXPECT_EQ(qemus_naming(orphan_dir), 0);
  EXPECT_FALSE(fs::exists(orphan_dir));
  EXPECT_TRUE(listed((*live)->domain_name()));
  EXPECT_TRUE((*live)->shutdown(soon()).ok());
}

}  // namespace
}  // namespace racerig::libvirt
