// Boots the agent for real: a kernel under QEMU (TCG, 2 vCPUs, an emulated
// NVDIMM on a fresh sparse image), the base initramfs plus a plan, the agent
// port on a unix socket. Checks the set-up (xfs on /dev/pmem0 in fsdax),
// the go handshake, pinning, and what a FS_XFLAG_DAX clear does on a file
// that stays open: on `buggy` S_DAX goes at once, on `fixed` it stays.
// Kernels come from the kernel cache (`racerig kernel build buggy fixed`); a
// missing kernel skips the test, unless RACERIG_REQUIRE_KERNELS=1 (as in CI,
// where ./dev builds them first) makes it a failure.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/text_format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "guest/agent/event_line.h"
#include "guest/initramfs/initramfs.h"
#include "rig/base/deadline.h"
#include "rig/base/scoped_fd.h"
#include "rig/kbuild/cache.h"

namespace racerig::guest {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The cached bzImage of a variant, or an error saying why there is none.
Result<fs::path> cached_bzimage(const std::string& variant) {
  RACERIG_ASSIGN(kbuild::Cache cache, kbuild::Cache::open(fs::path(RACERIG_SOURCE_DIR) / "kernels", kbuild::default_cache_root()));
  RACERIG_ASSIGN(pb::Variant v, cache.variant(variant));
  auto built = cache.find(v);
  if (!built) return make_error(ErrorKind::kInput, variant + " is not built (racerig kernel build " + variant + ")");
  return built->bzimage;
}

bool kernels_required() {
  const char* env = std::getenv("RACERIG_REQUIRE_KERNELS");
  return env != nullptr && std::string(env) == "1";
}

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "racerig-boot-XXXXXX").string();
    if (::mkdtemp(t.data()) != nullptr) path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path path() const { return path_; }

 private:
  std::string path_;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail(const std::string& s, size_t lines) {
  size_t pos = s.size();
  for (size_t i = 0; i < lines && pos > 0; ++i) {
    pos = s.rfind('\n', pos - 1);
    if (pos == std::string::npos) return s;
  }
  return s.substr(pos + 1);
}

// A QEMU child in its own process group: killed and reaped when it goes.
class Qemu {
 public:
  Qemu(const std::vector<std::string>& argv, const fs::path& log) {
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      ::execvp(cargv[0], cargv.data());
      ::_exit(127);
    }
    if (pid_ > 0) pidfd_ = ScopedFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  }
  ~Qemu() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int pidfd() const { return pidfd_.get(); }
  bool started() const { return pid_ > 0 && pidfd_.valid(); }
  // Waits for QEMU to exit by itself; false at the deadline.
  bool wait_exit(Deadline deadline, int* status) {
    struct pollfd p = {pidfd_.get(), POLLIN, 0};
    while (::poll(&p, 1, deadline.poll_timeout_ms()) < 0 && errno == EINTR) {
    }
    if (::waitpid(pid_, status, WNOHANG) != pid_) return false;
    pid_ = -1;
    return true;
  }

 private:
  pid_t pid_ = -1;
  ScopedFd pidfd_;
};

struct BootResult {
  std::vector<pb::AgentEvent> events;
  std::vector<std::string> other_lines;  // agent-port lines that were not events
  bool qemu_exited = false;
  int qemu_status = -1;
  std::string console;
  std::string qemu_log;
  double ready_s = -1, total_s = -1;
};

// Boots `bzimage` with the plan, sends "go" after READY when the plan waits
// for it, collects events until DONE or FATAL and waits for the power-off.
BootResult boot(const fs::path& bzimage, const pb::GuestPlan& plan) {
  BootResult r;
  const auto t0 = Clock::now();
  TempDir dir;
  auto base = base_initramfs(dir.path() / "work");
  EXPECT_TRUE(base.ok()) << base.error().message;
  if (!base.ok()) return r;
  auto initrd = write_run_initramfs(*base, plan);
  EXPECT_TRUE(initrd.ok()) << initrd.error().message;
  if (!initrd.ok()) return r;

  const fs::path image = dir.path() / "pmem.img";
  {
    ScopedFd img(::open(image.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644));
    EXPECT_TRUE(img.valid());
    EXPECT_EQ(::ftruncate(img.get(), 512ll << 20), 0);  // sparse: a fresh namespace each boot
  }
  const fs::path sock_path = dir.path() / "agent.sock";
  ScopedFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
  EXPECT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  EXPECT_EQ(::listen(listener.get(), 1), 0);

  const fs::path console = dir.path() / "console.log";
  std::vector<std::string> argv = {
      "qemu-system-x86_64", "-accel", "tcg", "-smp", "2", "-machine", "pc,nvdimm=on", "-m", "512M,slots=2,maxmem=2G",
      "-object", "memory-backend-file,id=mem1,share=on,mem-path=" + image.string() + ",size=512M",
      "-device", "nvdimm,id=nv1,memdev=mem1", "-kernel", bzimage.string(), "-initrd", initrd->path().string(),
      "-append", "console=ttyS0 nokaslr panic=-1 loglevel=6 nowatchdog rcupdate.rcu_cpu_stall_suppress=1",
      "-nodefaults", "-display", "none", "-no-reboot",
      "-serial", "file:" + console.string(),
      "-chardev", "socket,id=agent,path=" + sock_path.string(), "-serial", "chardev:agent"};
  Qemu qemu(argv, dir.path() / "qemu.log");
  EXPECT_TRUE(qemu.started());
  auto finish = [&] {
    r.console = read_file(console);
    r.qemu_log = read_file(dir.path() / "qemu.log");
    r.total_s = std::chrono::duration<double>(Clock::now() - t0).count();
  };
  if (!qemu.started()) {
    finish();
    return r;
  }

  Deadline deadline = Deadline::after_seconds(300);
  struct pollfd accept_fds[2] = {{listener.get(), POLLIN, 0}, {qemu.pidfd(), POLLIN, 0}};
  ::poll(accept_fds, 2, Deadline::after_seconds(60).poll_timeout_ms());
  ScopedFd port(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  EXPECT_TRUE(port.valid()) << "QEMU did not connect to the agent socket";
  std::string buffer;
  bool finished = false;
  while (port.valid() && !finished && !deadline.expired()) {
    struct pollfd fds[2] = {{port.get(), POLLIN, 0}, {qemu.pidfd(), POLLIN, 0}};
    int n = ::poll(fds, 2, deadline.poll_timeout_ms());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (fds[0].revents != 0) {
      char buf[4096];
      ssize_t got = ::read(port.get(), buf, sizeof buf);
      if (got <= 0) break;
      buffer.append(buf, static_cast<size_t>(got));
      for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
        std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        auto e = parse_event_line(line);
        if (!e) {
          r.other_lines.push_back(line);
          continue;
        }
        r.events.push_back(*e);
        std::printf("  agent: %s\n", e->ShortDebugString().c_str());
        if (e->kind() == pb::AgentEvent::READY) {
          r.ready_s = std::chrono::duration<double>(Clock::now() - t0).count();
          if (plan.wait_for_go()) {
            EXPECT_EQ(::write(port.get(), "go\n", 3), 3);
          }
        }
        if (e->kind() == pb::AgentEvent::DONE || e->kind() == pb::AgentEvent::FATAL) finished = true;
      }
    } else if (fds[1].revents != 0) {
      break;  // QEMU went away
    }
  }
  int status = 0;
  r.qemu_exited = qemu.wait_exit(Deadline::after_seconds(60), &status);
  r.qemu_status = status;
  finish();
  return r;
}

const pb::AgentEvent* find(const BootResult& r, pb::AgentEvent::Kind kind, const std::string& actor = "",
                           const std::string& op = "", int nth = 0) {
  for (const auto& e : r.events) {
    if (e.kind() != kind || (!actor.empty() && e.actor() != actor) || (!op.empty() && e.op() != op)) continue;
    if (nth-- == 0) return &e;
  }
  return nullptr;
}

pb::GuestPlan live_switch_plan() {
  pb::GuestPlan plan;
  bool ok = google::protobuf::TextFormat::ParseFromString(R"(
    workload {
      setup { mount_options: "dax=inode" }
      prepare { create { path: "/mnt/foo" size: 65536 pattern: 0x5a } }
      prepare { set_dax { path: "/mnt/foo" enable: true } }
      prepare { drop_caches {} }
      prepare { report_dax { path: "/mnt/foo" expect: DAX } }
      actors {
        name: "switcher"
        cpu: 1
        ops { open { path: "/mnt/foo" } }
        ops { set_dax { path: "/mnt/foo" enable: false } }
        ops { report_dax { path: "/mnt/foo" } }
        ops { close { path: "/mnt/foo" } }
      }
      actors {
        name: "fsxer"
        cpu: 0
        ops { fsx { path: "/mnt/fsx" seed: 1 ops: 300 max_size: 131072 } }
        ops { mmap_write { path: "/mnt/foo" offset: 4096 length: 4096 pattern: 0xab } }
      }
      check { mmap_read { path: "/mnt/foo" offset: 4096 length: 4096 check: true pattern: 0xab } }
      check { pread { path: "/mnt/foo" offset: 0 length: 4096 check: true pattern: 0x5a } }
      check { report_dax { path: "/mnt/foo" } }
    }
    wait_for_go: true)",
                                                          &plan);
  EXPECT_TRUE(ok);
  return plan;
}

void boot_variant(const std::string& variant, bool flag_clear_is_immediate) {
  auto cached = cached_bzimage(variant);
  if (!cached.ok()) {
    if (kernels_required()) FAIL() << cached.error().message;
    GTEST_SKIP() << cached.error().message;
  }
  const fs::path bzimage = *cached;
  BootResult r = boot(bzimage, live_switch_plan());
  std::printf("%s: READY after %.1f s, finished after %.1f s\n", variant.c_str(), r.ready_s, r.total_s);
  SCOPED_TRACE("console tail:\n" + tail(r.console, 40) + "\nqemu log:\n" + r.qemu_log);

  const pb::AgentEvent* fatal = find(r, pb::AgentEvent::FATAL);
  ASSERT_EQ(fatal, nullptr) << fatal->message();
  ASSERT_NE(find(r, pb::AgentEvent::DONE), nullptr) << "no DONE";
  EXPECT_TRUE(r.qemu_exited) << "the guest did not power off";
  for (const auto& line : r.other_lines) EXPECT_EQ(line.find("go"), std::string::npos) << "the port echoed: " << line;

  // Set-up: xfs on /dev/pmem0, the namespace in fsdax.
  const pb::AgentEvent* mount = nullptr;
  for (const auto& e : r.events)
    if (e.kind() == pb::AgentEvent::SETUP && !e.fs_type().empty()) mount = &e;
  ASSERT_NE(mount, nullptr);
  EXPECT_EQ(mount->fs_type(), "xfs");
  EXPECT_EQ(mount->mount_source(), "/dev/pmem0");
  EXPECT_EQ(mount->namespace_mode(), "fsdax");

  // Both actors pinned where the plan said.
  const pb::AgentEvent* sw = find(r, pb::AgentEvent::ACTOR_START, "switcher");
  const pb::AgentEvent* fx = find(r, pb::AgentEvent::ACTOR_START, "fsxer");
  ASSERT_NE(sw, nullptr);
  ASSERT_NE(fx, nullptr);
  EXPECT_EQ(sw->cpu(), 1);
  EXPECT_EQ(fx->cpu(), 0);

  // The file came back from disk with S_DAX.
  const pb::AgentEvent* before = find(r, pb::AgentEvent::OP_OK, "prepare", "report_dax");
  ASSERT_NE(before, nullptr) << "the prepare report_dax failed";
  EXPECT_TRUE(before->statx_dax());
  EXPECT_TRUE(before->statx_attributes() & 0x200000);

  // The clear while the file is open.
  const pb::AgentEvent* during = find(r, pb::AgentEvent::OP_OK, "switcher", "report_dax");
  ASSERT_NE(during, nullptr);
  std::printf("%s: after clearing FS_XFLAG_DAX on the open file: %s\n", variant.c_str(), during->message().c_str());
  EXPECT_FALSE(during->xflag_dax());
  EXPECT_EQ(during->statx_dax(), !flag_clear_is_immediate);

  const pb::AgentEvent* fsx = find(r, pb::AgentEvent::OP_OK, "fsxer", "fsx");
  ASSERT_NE(fsx, nullptr) << "fsx failed in the guest";
  EXPECT_EQ(fsx->seed(), 1u);
  EXPECT_EQ(find(r, pb::AgentEvent::OP_FAILED), nullptr);
  const pb::AgentEvent* after = find(r, pb::AgentEvent::OP_OK, "check", "report_dax");
  if (after != nullptr) std::printf("%s: after close: %s\n", variant.c_str(), after->message().c_str());
}

TEST(GuestBootTest, BuggyKernelSwitchesDaxOnTheOpenFile) { boot_variant("buggy", true); }

TEST(GuestBootTest, FixedKernelKeepsDaxUntilEviction) { boot_variant("fixed", false); }

}  // namespace
}  // namespace racerig::guest
