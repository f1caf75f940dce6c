// Set-up helpers: running a tool, /proc/self/mounts, statfs names, and the
// skip_fsdax path of setup_filesystem.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/agent/event_line.h"
#include "guest/agent/setup.h"
#include "guest/agent/test_util.h"

namespace racerig::agent {
namespace {

TEST(SetupTest, SplitWords) {
  EXPECT_EQ(split_words("  -m reflink=0\t-b  size=4096 "),
            (std::vector<std::string>{"-m", "reflink=0", "-b", "size=4096"}));
  EXPECT_TRUE(split_words("").empty());
}

TEST(SetupTest, FindMountTakesTheLastEntryAndDecodesEscapes) {
  const char* mounts =
      "rootfs / rootfs rw 0 0\n"
      "proc /proc proc rw,relatime 0 0\n"
      "/dev/pmem0 /mnt xfs rw,relatime,attr2 0 0\n"
      "/dev/pmem0 /mnt xfs rw,relatime,attr2,inode64,logbufs=8,noquota 0 0\n"
      "/dev/sda1 /with\\040space ext4 rw 0 0\n"
      "garbage\n";
  auto m = find_mount(mounts, "/mnt");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->source, "/dev/pmem0");
  EXPECT_EQ(m->fs_type, "xfs");
  EXPECT_EQ(m->options, "rw,relatime,attr2,inode64,logbufs=8,noquota");
  auto s = find_mount(mounts, "/with space");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->source, "/dev/sda1");
  EXPECT_FALSE(find_mount(mounts, "/nope").has_value());
}

TEST(SetupTest, GenericMountOptionsBecomeFlagsTheRestIsTheFileSystems) {
  // ext4 refuses "noatime" as data (EINVAL): mount(8) makes it MS_NOATIME.
  MountArgs a = split_mount_options("noatime,data=journal,ro,,nodev");
  EXPECT_EQ(a.flags, static_cast<unsigned long>(MS_NOATIME | MS_RDONLY | MS_NODEV));
  EXPECT_EQ(a.data, "data=journal");
  MountArgs b = split_mount_options("dax=inode");
  EXPECT_EQ(b.flags, 0ul);
  EXPECT_EQ(b.data, "dax=inode");
  MountArgs c = split_mount_options("ro,rw,no_such_option");
  EXPECT_EQ(c.flags, 0ul) << "the later one wins";
  EXPECT_EQ(c.data, "no_such_option");
  EXPECT_EQ(split_mount_options("").data, "");
}

TEST(SetupTest, FsTypeNames) {
  EXPECT_EQ(fs_type_name(0x58465342), "xfs");
  EXPECT_EQ(fs_type_name(0x1234), "0x1234");
}

TEST(SetupTest, RunCommandCapturesOutputAndStatus) {
  auto r = run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, Deadline::after_seconds(30));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_NE(r->output.find("out"), std::string::npos);
  EXPECT_NE(r->output.find("err"), std::string::npos);
}

TEST(SetupTest, RunCommandKillsAtTheDeadline) {
  auto r = run_command({"/bin/sleep", "60"}, Deadline::after_seconds(0.2));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, SIGKILL);
}

TEST(SetupTest, RunCommandMissingBinary) {
  auto r = run_command({"/nonexistent/mkfs.xfs", "-q"}, Deadline::after_seconds(30));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 127);
}

TEST(SetupTest, SkipFsdaxStillReportsWhatMntIs) {
  testing::TempDir dir;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  Reporter reporter(p[1], Reporter::Clock::now());
  pb::GuestSetup setup;
  setup.set_skip_fsdax(true);
  SetupConfig config;
  config.mountpoint = dir.path();
  Status s = setup_filesystem(setup, config, reporter);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ::close(p[1]);
  char buf[4096];
  ssize_t n = ::read(p[0], buf, sizeof buf);
  ::close(p[0]);
  ASSERT_GT(n, 0);
  auto e = parse_event_line(std::string(buf, static_cast<size_t>(n)));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind(), pb::AgentEvent::SETUP);
  EXPECT_FALSE(e->fs_type().empty());
  EXPECT_NE(e->message().find("no disk (/mnt is a directory of the initramfs)"), std::string::npos) << e->message();
}

// setup { device: virtio_blk mkfs: ext4 } on the host: a disk that never
// appears, an mkfs that fails, a template asked for a disk.
TEST(SetupTest, AVirtioDiskThatNeverAppearsOrAFailingMkfsIsNamed) {
  testing::TempDir dir;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  Reporter reporter(p[1], Reporter::Clock::now());
  pb::GuestSetup setup;
  setup.set_device(pb::SetupDevice::virtio_blk);
  setup.set_mkfs(pb::SetupMkfs::ext4);
  SetupConfig config;
  config.mountpoint = dir.path() + "/mnt";
  config.virtio_device = dir.path() + "/vda";
  config.device_wait = std::chrono::milliseconds(200);
  Status s = setup_filesystem(setup, config, reporter);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("setup.device: virtio_blk: the disk did not appear"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find(config.virtio_device), std::string::npos) << s.error().message;

  testing::spit(config.virtio_device, "");
  config.mke2fs = "/bin/false";
  s = setup_filesystem(setup, config, reporter);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("setup.mkfs: /bin/false -q -F -t ext4 " + config.virtio_device + " failed (exit 1)"),
            std::string::npos)
      << s.error().message;

  s = setup_filesystem(setup, config, reporter, SetupMode::kMakeTemplate);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kInput);
  EXPECT_NE(s.error().message.find("only made or used for a file system on pmem, not ext4 on virtio_blk"),
            std::string::npos)
      << s.error().message;
  ::close(p[1]);
  ::close(p[0]);
}

TEST(SetupTest, AnEmptyLostAndFoundIsPartOfAnEmptyFileSystem) {
  testing::TempDir dir;
  ASSERT_EQ(::mkdir((dir.path() + "/lost+found").c_str(), 0700), 0);
  EXPECT_TRUE(check_empty_dir(dir.path()).ok());
  testing::spit(dir.path() + "/lost+found/#12", "x");
  Status s = check_empty_dir(dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("is not empty: lost+found"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace racerig::agent
