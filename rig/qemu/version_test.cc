// Tests of the `qemu --version` probe (version.h) against stand-in scripts.
#include "rig/qemu/version.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "rig/base/file.h"

namespace racerig::qemu {
namespace {

namespace fs = std::filesystem;

class QemuVersionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "racerig-qemu-version-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  // An executable script `name` with `body`.
  std::string script(const std::string& name, const std::string& body) {
    const fs::path p = dir_ / name;
    EXPECT_TRUE(write_file(p, "#!/bin/sh\n" + body).ok());
    ::chmod(p.c_str(), 0755);
    return p.string();
  }
  fs::path dir_;
};

TEST_F(QemuVersionTest, FirstLineOfTheAnswer) {
  auto v = qemu_version(script("qemu", "echo 'QEMU emulator version 7.2.22 (Debian)'\necho 'Copyright (c) 2003-2022'\n"),
                        Deadline::after_seconds(30));
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, "QEMU emulator version 7.2.22 (Debian)");
}

TEST_F(QemuVersionTest, FailingOrMissingQemuIsAnError) {
  EXPECT_FALSE(qemu_version(script("broken", "exit 3\n"), Deadline::after_seconds(30)).ok());
  EXPECT_FALSE(qemu_version((dir_ / "missing").string(), Deadline::after_seconds(30)).ok());
}

}  // namespace
}  // namespace racerig::qemu
