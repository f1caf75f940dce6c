// Boots the agent for real: a kernel under QEMU (TCG, 2 vCPUs, an emulated
// NVDIMM on a fresh sparse image), the base initramfs plus a plan, the agent
// port on a unix socket. Checks the set-up (xfs on /dev/pmem0 in fsdax),
// the go handshake, pinning, and what a FS_XFLAG_DAX clear does on a file
// that stays open: on `buggy` S_DAX goes at once, on `fixed` it stays.
// Kernels come from the kernel cache (`racerig kernel build buggy fixed`); a
// missing kernel skips the test, unless RACERIG_REQUIRE_KERNELS=1 (as in CI,
// where ./dev builds them first) makes it a failure.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <stdlib.h>

#include <google/protobuf/text_format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "guest/agent/test_util.h"
#include "guest/agent/event_line.h"
#include "guest/initramfs/initramfs.h"
#include "rig/base/deadline.h"
#include "rig/kbuild/cache.h"
#include "rig/qemu/vm.h"

namespace racerig::test {
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

using agent::testing::TempDir;

std::string tail(const std::string& s, size_t lines) {
  if (s.empty()) return s;
  size_t pos = s.size();
  for (size_t i = 0; i < lines && pos > 0; ++i) {
    pos = s.rfind('\n', pos - 1);
    if (pos == std::string::npos) return s;
  }
  return s.substr(pos + 1);
}

struct BootResult {
  std::vector<pb::AgentEvent> events;
  std::vector<std::string> other_lines;  // agent-port lines that were not events
  bool qemu_exited = false;
  int qemu_status = -1;
  std::string console;
  std::string qemu_log;
  double ready_s = -1, total_s = -1;
};

// Boots `bzimage` with the plan in the rig's own Vm (no gdbstub client: the
// vCPUs start at once), sends "go" after READY when the plan waits for it,
// collects events until DONE or FATAL and waits for the power-off.
BootResult boot(const fs::path& bzimage, const pb::GuestPlan& plan) {
  BootResult r;
  const auto t0 = Clock::now();
  TempDir dir;
  auto base = initramfs::base_initramfs(dir / "work");
  EXPECT_TRUE(base.ok()) << base.error().message;
  if (!base.ok()) return r;
  auto initrd = initramfs::write_run_initramfs(*base, plan);
  EXPECT_TRUE(initrd.ok()) << initrd.error().message;
  if (!initrd.ok()) return r;

  machine::VmConfig cfg;
  cfg.bzimage = bzimage;
  cfg.initrd = initrd->path();
  cfg.append = "console=ttyS0 nokaslr panic=-1 loglevel=6 nowatchdog rcupdate.rcu_cpu_stall_suppress=1";
  cfg.start_paused = false;
  // QEMU runs as the unprivileged worker, which must be able to reach its run
  // dir through this test's (otherwise private) directory.
  ::chmod(dir.path().c_str(), 0711);
  cfg.run_parent = dir.path();
  auto started = qemu::Vm::start(cfg, Deadline::after_seconds(60));
  EXPECT_TRUE(started.ok()) << started.error().message;
  if (!started.ok()) return r;
  qemu::Vm& qemu = **started;

  Deadline deadline = Deadline::after_seconds(300);
  bool finished = false;
  while (!finished && !qemu.exited() && !deadline.expired()) {
    struct pollfd p = {qemu.event_fd(), POLLIN, 0};
    if (::poll(&p, 1, deadline.poll_timeout_ms()) < 0 && errno != EINTR) break;
    qemu.drain_events();
    for (const std::string& line : qemu.take_new_agent_lines()) {
      auto e = agent::parse_event_line(line);
      if (!e) {
        r.other_lines.push_back(line);
        continue;
      }
      r.events.push_back(*e);
      std::printf("  agent: %s\n", e->ShortDebugString().c_str());
      if (e->kind() == pb::AgentEvent::READY) {
        r.ready_s = std::chrono::duration<double>(Clock::now() - t0).count();
        if (plan.wait_for_go()) {
          Status go = qemu.send_agent_line("go\n");
          EXPECT_TRUE(go.ok()) << go.error().message;
        }
      }
      if (e->kind() == pb::AgentEvent::DONE || e->kind() == pb::AgentEvent::FATAL) finished = true;
    }
  }
  // The agent powers the guest off after DONE: QEMU exits by itself.
  Deadline exit_deadline = Deadline::after_seconds(60);
  while (!qemu.exited() && !exit_deadline.expired()) {
    struct pollfd p = {qemu.event_fd(), POLLIN, 0};
    (void)::poll(&p, 1, exit_deadline.poll_timeout_ms());
    qemu.drain_events();
    qemu.take_new_agent_lines();
  }
  r.qemu_exited = qemu.exited();
  r.qemu_status = qemu.exit_status();
  r.qemu_log = qemu.qemu_log();
  (void)qemu.shutdown(Deadline::after_seconds(10));
  r.console = qemu.console_log();
  r.total_s = std::chrono::duration<double>(Clock::now() - t0).count();
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
}  // namespace racerig::test
