// A scenario's setup {} resolved: the seed's default, the new devices and
// file systems, and every contradiction refused with the field named.
#include "guest/agent/storage.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

namespace racerig::agent {
namespace {

pb::GuestSetup setup(const std::string& text) {
  pb::GuestSetup s;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &s)) << text;
  return s;
}

TEST(StorageTest, NoSetupIsTheSeedsXfsOnFsdaxWithDaxInode) {
  auto s = resolve_storage(pb::GuestSetup());
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->device, Device::kPmem);
  EXPECT_EQ(s->fs, Filesystem::kXfs);
  EXPECT_EQ(s->mount_options, "dax=inode");
  EXPECT_EQ(s->mkfs_options, "-m reflink=0");
  EXPECT_TRUE(s->mounted());
  EXPECT_EQ(storage_text(*s), "xfs on pmem (/dev/pmem0), -o dax=inode");
  // The older spelling of "no disk".
  auto skip = resolve_storage(setup("skip_fsdax: true"));
  ASSERT_TRUE(skip.ok());
  EXPECT_EQ(skip->device, Device::kNone);
  EXPECT_FALSE(skip->mounted());
}

TEST(StorageTest, Ext4OnVirtioBlkHasTheKernelsDefaultOptionsUnlessGiven) {
  auto s = resolve_storage(setup("device: virtio_blk mkfs: ext4"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->device, Device::kVirtioBlk);
  EXPECT_EQ(s->fs, Filesystem::kExt4);
  EXPECT_EQ(s->mount_options, "");
  EXPECT_EQ(s->mkfs_options, "");
  EXPECT_EQ(storage_text(*s), "ext4 on virtio_blk (/dev/vda)");
  s = resolve_storage(setup("device: virtio_blk mkfs: ext4 mount_options: \"noatime,data=journal\""));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->mount_options, "noatime,data=journal");
  // xfs is the default file system on any device.
  s = resolve_storage(setup("device: virtio_blk"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->fs, Filesystem::kXfs);
  EXPECT_EQ(s->mount_options, "") << "dax=inode is pmem's";
  // A raw device for the scenario's programs.
  s = resolve_storage(setup("device: virtio_blk mkfs: none"));
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->mounted());
  EXPECT_EQ(storage_text(*s), "virtio_blk (/dev/vda), left unformatted and unmounted");
  s = resolve_storage(setup("device: none"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->fs, Filesystem::kNone);
}

TEST(StorageTest, ContradictionsAndUnknownValuesNameTheField) {
  struct Case {
    std::string text, field, says;
  };
  for (const Case& c : std::vector<Case>{
           {"device: none mkfs: ext4", "mkfs", "setup.mkfs: mkfs: ext4 needs a device, and device is none"},
           {"device: none mount_options: \"noatime\"", "mount_options",
            "setup.mount_options: \"noatime\" but nothing is mounted: there is no device"},
           {"device: virtio_blk mkfs: none mkfs_options: \"-b 1024\"", "mkfs_options",
            "setup.mkfs_options: \"-b 1024\" but nothing is made: mkfs is none"},
           {"skip_fsdax: true device: virtio_blk", "skip_fsdax",
            "setup.skip_fsdax: skip_fsdax means no device, but device is virtio_blk"},
           {"mount_options: \"noatime, nodev\"", "mount_options", "has white space"},
       }) {
    std::string field;
    auto s = resolve_storage(setup(c.text), &field);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.error().kind, ErrorKind::kInput);
    EXPECT_EQ(field, c.field) << c.text;
    EXPECT_NE(s.error().message.find(c.says), std::string::npos) << s.error().message;
  }
  // A plan's numbers outside the enums (the text format refuses names it
  // does not know, with the file and line: rig/scenario's tests).
  pb::GuestSetup bad;
  bad.set_device(static_cast<pb::SetupDevice::Kind>(7));
  std::string field;
  auto s = resolve_storage(bad, &field);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(field, "device");
  EXPECT_NE(s.error().message.find("setup.device: unknown value 7 (pmem, virtio_blk or none)"), std::string::npos);
  bad = pb::GuestSetup();
  bad.set_mkfs(static_cast<pb::SetupMkfs::Kind>(9));
  s = resolve_storage(bad, &field);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(field, "mkfs");
  EXPECT_NE(s.error().message.find("setup.mkfs: unknown value 9 (xfs, ext4 or none)"), std::string::npos);
}

}  // namespace
}  // namespace racerig::agent
