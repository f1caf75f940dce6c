// The checks both backends make of a VmConfig, with the error texts runs
// report, and the NVDIMM image both put in the run dir; no QEMU.
#include "rig/machine/vm_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace racerig::machine {
namespace {

namespace fs = std::filesystem;

class VmConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "racerig-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  fs::path file(const std::string& name, const std::string& bytes) {
    std::ofstream(root_ / name, std::ios::binary) << bytes;
    return root_ / name;
  }
  // A config whose kernel and initrd exist.
  VmConfig booting() {
    VmConfig cfg;
    cfg.bzimage = file("bzImage", "kernel");
    cfg.initrd = file("initrd", "initrd");
    cfg.pmem_mb = 1;
    return cfg;
  }
  // The error message of a check that must fail with kInput.
  static std::string input_error(const VmConfig& cfg) {
    Status s = check_config(cfg);
    if (s.ok()) return "(accepted)";
    EXPECT_EQ(s.error().kind, ErrorKind::kInput) << s.error().message;
    return s.error().message;
  }

  fs::path root_;
};

TEST_F(VmConfigTest, VcpusRangeFromOneTo64) {
  VmConfig cfg = booting();
  for (int ok : {1, 2, 64}) {
    cfg.cpus = ok;
    EXPECT_TRUE(check_config(cfg).ok()) << ok;
  }
  cfg.cpus = 0;
  EXPECT_EQ(input_error(cfg), "impossible vCPU count 0");
  cfg.cpus = 65;
  EXPECT_EQ(input_error(cfg), "impossible vCPU count 65");
}

TEST_F(VmConfigTest, AVirtioDiskIsAFreshQcow2OrACopyOfItsTemplate) {
  VmConfig cfg = booting();
  EXPECT_TRUE(disk_create_argv(cfg, "/r/disk.qcow2").empty()) << "no disk";
  cfg.disk_mb = 512;
  EXPECT_TRUE(check_config(cfg).ok());
  EXPECT_EQ(disk_create_argv(cfg, "/r/disk.qcow2"),
            (std::vector<std::string>{"qemu-img", "create", "-q", "-f", "qcow2", "/r/disk.qcow2", "512M"}));
  cfg.disk_template = root_ / "none.qcow2";
  EXPECT_NE(input_error(cfg).find("disk template " + cfg.disk_template.string() + " is not a file"), std::string::npos);
  std::ofstream(root_ / "ready.qcow2") << "QFI";
  cfg.disk_template = root_ / "ready.qcow2";
  EXPECT_TRUE(check_config(cfg).ok());
  EXPECT_TRUE(disk_create_argv(cfg, "/r/disk.qcow2").empty()) << "copied, not made";
  cfg.disk_mb = 0;
  EXPECT_NE(input_error(cfg).find("but no disk"), std::string::npos);
  cfg.disk_mb = -1;
  cfg.disk_template.clear();
  EXPECT_EQ(input_error(cfg), "impossible disk size -1 MiB");
}

TEST_F(VmConfigTest, AKernelAndAnInitrdAreNeededUnlessFirmwareOnly) {
  VmConfig cfg = booting();
  cfg.initrd.clear();
  EXPECT_EQ(input_error(cfg), "QEMU needs a kernel and an initrd, which does not exist");
  cfg = booting();
  cfg.bzimage = root_ / "nope";
  EXPECT_EQ(input_error(cfg), "QEMU needs " + (root_ / "nope").string() + ", which does not exist");
  cfg.bzimage = root_;  // a directory is no kernel
  EXPECT_EQ(input_error(cfg), "QEMU needs " + root_.string() + ", which does not exist");
  VmConfig firmware;
  firmware.firmware_only = true;
  EXPECT_TRUE(check_config(firmware).ok());
}

TEST_F(VmConfigTest, TheNvdimmTemplateMustHaveTheImagesSize) {
  VmConfig cfg = booting();
  cfg.pmem_template = file("template.img", std::string(4096, 'x'));
  EXPECT_EQ(input_error(cfg), "NVDIMM template " + cfg.pmem_template.string() + " has 4096 bytes, expected 1048576");
  cfg.pmem_template = root_ / "missing.img";
  EXPECT_EQ(input_error(cfg).rfind("NVDIMM template " + cfg.pmem_template.string() + ": ", 0), 0u);
  // A run that maps its NVDIMM file in place makes no image from the template.
  cfg.pmem_file = file("pmem-in-place.img", "");
  EXPECT_TRUE(check_config(cfg).ok());
  cfg = booting();
  cfg.pmem_template = file("right.img", std::string(1 << 20, '\0'));
  EXPECT_TRUE(check_config(cfg).ok());
}

TEST_F(VmConfigTest, AFreshImageIsSparseZeroesOfPmemMb) {
  VmConfig cfg = booting();
  cfg.pmem_mb = 64;
  const fs::path img = root_ / "pmem.img";
  Status s = make_pmem_image(cfg, img);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(fs::file_size(img), uintmax_t{64} << 20);
  struct stat st {};
  ASSERT_EQ(::stat(img.c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "a hole, not 64 MiB of written zeroes";
  Status again = make_pmem_image(cfg, img);
  ASSERT_FALSE(again.ok()) << "the image must not exist yet";
  EXPECT_NE(again.error().message.find(img.string()), std::string::npos) << again.error().message;
}

TEST_F(VmConfigTest, ATemplatedImageIsACopyOfTheTemplate) {
  VmConfig cfg = booting();
  std::string bytes(1 << 20, '\0');
  bytes.replace(4096, 6, "xfsdax");
  cfg.pmem_template = file("template.img", bytes);
  ASSERT_TRUE(check_config(cfg).ok());
  const fs::path img = root_ / "pmem.img";
  Status s = make_pmem_image(cfg, img);
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::ifstream in(img, std::ios::binary);
  EXPECT_TRUE(std::string(std::istreambuf_iterator<char>(in), {}) == bytes);
}

}  // namespace
}  // namespace racerig::machine
