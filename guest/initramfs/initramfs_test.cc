// The base image, its cache, the plan archive and a run's initrd.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "guest/agent/test_util.h"
#include "guest/initramfs/initramfs.h"
#include "guest/initramfs/newc_reader_for_tests.h"

namespace racerig::initramfs {
namespace {

namespace fs = std::filesystem;

using agent::testing::TempDir;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

BaseInputs inputs() {
  BaseInputs in;
  in.agent = RACERIG_AGENT_BUILD_PATH;
  return in;
}

TEST(InitramfsTest, BaseHoldsAgentMkfsLibrariesAndNodes) {
  auto image = build_base_initramfs(inputs());
  ASSERT_TRUE(image.ok()) << image.error().message;
  auto entries = testing::read_newc(*image);
  ASSERT_TRUE(entries.has_value());
  const auto* init = testing::find_entry(*entries, "init");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->data, read(RACERIG_AGENT_BUILD_PATH));
  EXPECT_EQ(init->mode, 0100755u);
  const auto* mkfs = testing::find_entry(*entries, "sbin/mkfs.xfs");
  ASSERT_NE(mkfs, nullptr);
  EXPECT_EQ(mkfs->data, read("/sbin/mkfs.xfs"));
  // ext4 for setup { mkfs: ext4 }.
  const auto* mke2fs = testing::find_entry(*entries, "sbin/mke2fs");
  ASSERT_NE(mke2fs, nullptr);
  EXPECT_EQ(mke2fs->data, read("/sbin/mke2fs"));
  const auto* loader = testing::find_entry(*entries, "lib64/ld-linux-x86-64.so.2");
  ASSERT_NE(loader, nullptr);
  EXPECT_EQ(loader->data, read("/lib64/ld-linux-x86-64.so.2"));  // the file, not the symlink
  EXPECT_NE(testing::find_entry(*entries, "lib/x86_64-linux-gnu/libc.so.6"), nullptr);
  const auto* console = testing::find_entry(*entries, "dev/console");
  ASSERT_NE(console, nullptr);
  EXPECT_EQ(console->mode, 020600u);
  EXPECT_EQ(console->rdev_major, 5u);
  EXPECT_EQ(console->rdev_minor, 1u);
  const auto* ttys1 = testing::find_entry(*entries, "dev/ttyS1");
  ASSERT_NE(ttys1, nullptr);
  EXPECT_EQ(ttys1->rdev_major, 4u);
  EXPECT_EQ(ttys1->rdev_minor, 65u);
  for (const char* d : {"proc", "sys", "dev", "mnt", "racerig", "tmp"}) {
    const auto* e = testing::find_entry(*entries, d);
    ASSERT_NE(e, nullptr) << d;
    EXPECT_TRUE(S_ISDIR(e->mode)) << d;
  }
}

TEST(InitramfsTest, DynamicAgentIsRefused) {
  BaseInputs in = inputs();
  in.agent = "/sbin/mkfs.xfs";
  auto image = build_base_initramfs(in);
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.error().kind, ErrorKind::kInput);
  EXPECT_NE(image.error().message.find("dynamically linked"), std::string::npos);
}

TEST(InitramfsTest, MissingMkfsIsNamed) {
  BaseInputs in = inputs();
  in.mkfs = "/nonexistent/mkfs.xfs";
  auto image = build_base_initramfs(in);
  ASSERT_FALSE(image.ok());
  EXPECT_NE(image.error().message.find("/nonexistent/mkfs.xfs"), std::string::npos);
}

TEST(InitramfsTest, CacheIsKeyedByContent) {
  TempDir dir;
  auto a = cached_base_initramfs(inputs(), dir / "cache");
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto b = cached_base_initramfs(inputs(), dir / "cache");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(read(*a), *build_base_initramfs(inputs()));
  // Another agent (one byte more) is another image.
  std::string agent = read(RACERIG_AGENT_BUILD_PATH) + "x";
  std::ofstream(dir / "agent", std::ios::binary) << agent;
  BaseInputs other = inputs();
  other.agent = dir / "agent";
  auto c = cached_base_initramfs(other, dir / "cache");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_NE(*a, *c);
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir / "cache")) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 2u);  // no temp files left behind
}

TEST(InitramfsTest, RunInitrdIsBasePlusPlanAndGoesAway) {
  TempDir dir;
  auto base = cached_base_initramfs(inputs(), dir.path());
  ASSERT_TRUE(base.ok()) << base.error().message;
  pb::GuestPlan plan;
  plan.set_wait_for_go(true);
  plan.mutable_workload()->add_actors()->set_name("faulter");
  fs::path path;
  {
    auto run = write_run_initramfs(*base, plan);
    ASSERT_TRUE(run.ok()) << run.error().message;
    path = run->path();
    std::string image = read(path);
    std::string base_bytes = read(*base);
    ASSERT_EQ(image.substr(0, base_bytes.size()), base_bytes);
    EXPECT_EQ(image.substr(base_bytes.size()), plan_archive(plan));
    auto entries = testing::read_newc(image);
    ASSERT_TRUE(entries.has_value());
    const auto* p = testing::find_entry(*entries, "racerig/plan.pb");
    ASSERT_NE(p, nullptr);
    pb::GuestPlan back;
    ASSERT_TRUE(back.ParseFromString(p->data));
    EXPECT_TRUE(back.wait_for_go());
    EXPECT_EQ(back.workload().actors(0).name(), "faulter");
    EXPECT_NE(testing::find_entry(*entries, "init"), nullptr);
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(InitramfsTest, RunFilesArePackedUnderRacerigWithTheirDirectories) {
  TempDir dir;
  const fs::path program = fs::path(dir.path()) / "pgrp-binary";
  std::ofstream(program) << "\x7f" "ELF not really";
  pb::GuestPlan plan;
  auto archive = run_archive(plan, {{"/racerig/programs/pgrp", program, 0755}});
  ASSERT_TRUE(archive.ok()) << archive.error().message;
  auto entries = testing::read_newc(*archive);
  ASSERT_TRUE(entries.has_value());
  const auto* d = testing::find_entry(*entries, "racerig/programs");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->mode & 0170000, 0040000u);
  const auto* p = testing::find_entry(*entries, "racerig/programs/pgrp");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->data, "\x7f" "ELF not really");
  EXPECT_EQ(p->mode & 07777, 0755u);
  EXPECT_NE(testing::find_entry(*entries, "racerig/plan.pb"), nullptr);

  auto outside = run_archive(plan, {{"/sbin/pgrp", program, 0755}});
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.error().message.find("must lie under /racerig/: /sbin/pgrp"), std::string::npos);
  auto missing = run_archive(plan, {{"/racerig/programs/x", fs::path(dir.path()) / "nope", 0755}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos) << missing.error().message;
}

// Unpacked and chrooted into, the image runs mkfs.xfs: its libraries and
// loader are complete. Needs root (mknod, chroot).
TEST(InitramfsTest, MkfsRunsInsideTheUnpackedImage) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for cpio -i of device nodes and chroot";
  TempDir dir;
  auto image = build_base_initramfs(inputs());
  ASSERT_TRUE(image.ok());
  std::ofstream(dir / "base.cpio", std::ios::binary) << *image;
  fs::create_directories(dir / "root");
  std::string cmd = "cd " + (dir / "root") + " && cpio -i -d --quiet < ../base.cpio 2>&1 && " +
                    "chroot . /sbin/mkfs.xfs -V 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[1024];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("mkfs.xfs version"), std::string::npos) << out;
}

TEST(InitramfsTest, FindAgentHonoursTheEnvironment) {
  ::setenv("RACERIG_AGENT", "/nonexistent/agent", 1);
  auto a = find_agent();
  ::unsetenv("RACERIG_AGENT");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("/nonexistent/agent"), std::string::npos);
  auto b = find_agent();
  ASSERT_TRUE(b.ok()) << b.error().message;
}

}  // namespace
}  // namespace racerig::initramfs
