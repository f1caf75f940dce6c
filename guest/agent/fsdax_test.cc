// fsdax through a fake sysfs tree: what is written where, and in which case
// nothing is.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "guest/agent/fsdax.h"
#include "guest/agent/setup.h"
#include "guest/agent/test_util.h"

namespace racerig::agent {
namespace {

namespace fs = std::filesystem;
using testing::slurp;
using testing::spit;

// sys/devices/region0/{namespace0.0,pfn0.1,pfn_seed}, linked from
// sys/bus/nd/devices as the kernel does, and nd_pmem's bind/unbind.
class FsdaxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "sys";
    const std::string region = root_ + "/devices/region0";
    fs::create_directories(region + "/namespace0.0");
    fs::create_directories(region + "/pfn0.1");
    fs::create_directories(root_ + "/bus/nd/devices");
    fs::create_directories(root_ + "/bus/nd/drivers/nd_pmem");
    spit(region + "/pfn_seed", "pfn0.1\n");
    spit(region + "/namespace0.0/mode", "raw\n");
    fs::create_symlink("../../../bus/nd/drivers/nd_pmem", region + "/namespace0.0/driver");
    for (const char* f : {"uuid", "mode", "namespace"}) spit(region + "/pfn0.1/" + f, "");
    fs::create_symlink("../../../devices/region0/namespace0.0", root_ + "/bus/nd/devices/namespace0.0");
    fs::create_symlink("../../../devices/region0/pfn0.1", root_ + "/bus/nd/devices/pfn0.1");
    spit(root_ + "/bus/nd/drivers/nd_pmem/bind", "");
    spit(root_ + "/bus/nd/drivers/nd_pmem/unbind", "");
    paths_.sysfs = root_;
  }
  std::string pfn(const char* f) { return slurp(root_ + "/devices/region0/pfn0.1/" + f); }
  std::string driver(const char* f) { return slurp(root_ + "/bus/nd/drivers/nd_pmem/" + f); }

  testing::TempDir dir_;
  std::string root_;
  NvdimmPaths paths_;
};

TEST_F(FsdaxTest, RawNamespaceGetsTheSysfsSequence) {
  auto r = ensure_fsdax(paths_);
  // A file tree cannot flip the mode like the kernel does: the final check fails...
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("reads \"raw\", expected fsdax"), std::string::npos) << r.error().message;
  // ...after every write went to the right file, the pfn seed from the region.
  EXPECT_EQ(driver("unbind"), "namespace0.0");
  EXPECT_EQ(pfn("uuid").size(), 36u);
  EXPECT_EQ(pfn("mode"), "ram");
  EXPECT_EQ(pfn("namespace"), "namespace0.0");
  EXPECT_EQ(driver("bind"), "pfn0.1");
}

TEST_F(FsdaxTest, AlreadyFsdaxWritesNothing) {
  spit(root_ + "/devices/region0/namespace0.0/mode", "memory\n");  // the kernel's word for fsdax
  auto r = ensure_fsdax(paths_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->find("already fsdax"), std::string::npos);
  EXPECT_EQ(driver("unbind"), "");
  EXPECT_EQ(pfn("mode"), "");
}

TEST_F(FsdaxTest, OtherModesAreRefused) {
  spit(root_ + "/devices/region0/namespace0.0/mode", "dax\n");  // devdax, in the kernel's words
  auto r = ensure_fsdax(paths_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInput);
  EXPECT_NE(r.error().message.find("devdax"), std::string::npos);
}

TEST_F(FsdaxTest, NoNvdimmNamesTheFile) {
  paths_.sysfs = dir_ / "empty";
  auto r = ensure_fsdax(paths_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("namespace0.0/mode"), std::string::npos);
}

TEST(FsdaxUuidTest, LooksLikeAVersion4Uuid) {
  std::string u = random_uuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[8], '-');
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(u, random_uuid());
}

TEST(FsdaxWaitTest, TimesOutNamingThePath) {
  Status s = wait_for_path("/nonexistent/pmem0", Deadline::after_seconds(0.05));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kTimeout);
  EXPECT_NE(s.error().message.find("/nonexistent/pmem0"), std::string::npos);
}

// A copy of a template image must come up fsdax by itself: a raw namespace
// means the image is not a template, and nothing is written to sysfs.
TEST_F(FsdaxTest, FromTemplateNeedsTheNamespaceAlreadyFsdax) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  Reporter reporter(p[1], Reporter::Clock::now());
  SetupConfig config;
  config.nvdimm = paths_;
  config.mountpoint = dir_ / "mnt";
  Status s = setup_filesystem(pb::GuestSetup(), config, reporter, SetupMode::kFromTemplate);
  ::close(p[0]);
  ::close(p[1]);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("should be a racerig template"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("raw"), std::string::npos) << s.error().message;
  EXPECT_EQ(driver("unbind"), "");
  EXPECT_EQ(pfn("mode"), "");
}

TEST(SetupEmptyDirTest, OnlyAnEmptyDirectoryPasses) {
  testing::TempDir dir;
  EXPECT_TRUE(check_empty_dir(dir.path()).ok());
  spit(dir / "left-over", "x");
  Status s = check_empty_dir(dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("left-over"), std::string::npos) << s.error().message;
  EXPECT_FALSE(check_empty_dir(dir / "missing").ok());
}

}  // namespace
}  // namespace racerig::agent
