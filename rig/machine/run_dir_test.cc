// Run dirs: made empty and private; swept by a later racerig only once the
// owner they record is gone (no QEMU here).
#include "rig/machine/run_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "rig/process/stale.h"

namespace racerig::machine {
namespace {

namespace fs = std::filesystem;

class RunDirTest : public testing::Test {
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
  fs::path root_;
};

TEST_F(RunDirTest, AFreshDirIsEmptyAndPrivate) {
  auto dir = make_run_dir(root_);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  EXPECT_EQ(dir->parent_path(), root_);
  EXPECT_EQ(dir->filename().string().rfind("racerig-run-", 0), 0u) << *dir;
  EXPECT_TRUE(fs::is_empty(*dir));
  struct stat st {};
  ASSERT_EQ(::stat(dir->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(RunDirTest, AMissingParentIsAnErrorNamingIt) {
  auto dir = make_run_dir(root_ / "missing");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().kind, ErrorKind::kIo);
  EXPECT_EQ(dir.error().message.rfind("creating a run directory in " + (root_ / "missing").string() + ": ", 0), 0u)
      << dir.error().message;
}

TEST_F(RunDirTest, OnlyTheDirsOfGoneOwnersAreSwept) {
  auto mine = make_run_dir(root_);
  auto orphan = make_run_dir(root_);
  auto unrecorded = make_run_dir(root_);
  ASSERT_TRUE(mine.ok() && orphan.ok() && unrecorded.ok());
  record_owner(*mine);
  // This pid with another start time: a process that is gone.
  process::ProcessStamp gone = process::self_stamp();
  gone.start += 1;
  std::ofstream(*orphan / "owner") << process::format_stamp(gone) << "\n";

  const std::vector<fs::path> removed = remove_stale_run_dirs(root_);
  EXPECT_EQ(removed, std::vector<fs::path>{*orphan});
  EXPECT_FALSE(fs::exists(*orphan));
  EXPECT_TRUE(fs::exists(*mine / "owner")) << "its owner runs";
  EXPECT_TRUE(fs::exists(*unrecorded)) << "no owner record and less than an hour old";
}

}  // namespace
}  // namespace racerig::machine
