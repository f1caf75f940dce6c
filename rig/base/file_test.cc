// Tests of whole-file reading and writing (file.h).
#include "rig/base/file.h"

#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>

namespace racerig {
namespace {

namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "racerig-file-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FileTest, ReadsWhatWasWritten) {
  const std::string text("line 1\nbinary \0 byte\n", 21);
  ASSERT_TRUE(write_file(dir_ / "f", text).ok());
  auto got = read_file(dir_ / "f");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, text);
}

TEST_F(FileTest, EmptyFileIsEmptyText) {
  ASSERT_TRUE(write_file(dir_ / "empty", "").ok());
  auto got = read_file(dir_ / "empty");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, "");
}

TEST_F(FileTest, MissingFileNamesThePath) {
  auto got = read_file(dir_ / "missing");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::kIo);
  EXPECT_EQ(got.error().message, "reading " + (dir_ / "missing").string() + ": No such file or directory");
}

TEST_F(FileTest, ARoleIsNamedBeforeThePath) {
  auto got = read_file(dir_ / "missing", "scenario");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message, "reading scenario " + (dir_ / "missing").string() + ": No such file or directory");
  ASSERT_TRUE(write_file(dir_ / "big", "12345").ok());
  auto big = read_file(dir_ / "big", "the token file", 4);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message, "reading the token file " + (dir_ / "big").string() + ": larger than 4 bytes");
}

TEST_F(FileTest, DirectoryIsAnError) {
  auto got = read_file(dir_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message, "reading " + dir_.string() + ": Is a directory");
}

TEST_F(FileTest, TooLargeIsAnErrorNotATruncation) {
  ASSERT_TRUE(write_file(dir_ / "big", std::string(100, 'x')).ok());
  auto exact = read_file(dir_ / "big", 100);
  ASSERT_TRUE(exact.ok()) << exact.error().message;
  EXPECT_EQ(exact->size(), 100u);
  auto got = read_file(dir_ / "big", 99);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message, "reading " + (dir_ / "big").string() + ": larger than 99 bytes");
}

TEST_F(FileTest, ReadsProcFilesWhoseSizeStatDoesNotTell) {
  auto got = read_file("/proc/self/stat");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->rfind(std::to_string(::getpid()) + " (", 0), 0u) << *got;
}

TEST_F(FileTest, WriteReplacesTheWholeContent) {
  ASSERT_TRUE(write_file(dir_ / "f", "a long first version\n").ok());
  ASSERT_TRUE(write_file(dir_ / "f", "short\n").ok());
  EXPECT_EQ(read_file(dir_ / "f").value_or(""), "short\n");
}

TEST_F(FileTest, WriteIntoAMissingDirectoryNamesThePath) {
  Status s = write_file(dir_ / "no" / "f", "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kIo);
  EXPECT_EQ(s.error().message, "writing " + (dir_ / "no" / "f").string() + ": No such file or directory");
}

TEST_F(FileTest, AtomicWriteReplacesAndLeavesNoTemporaryFile) {
  ASSERT_TRUE(write_file(dir_ / "f", "old\n").ok());
  ASSERT_TRUE(write_file_atomic(dir_ / "f", "new\n").ok());
  ASSERT_TRUE(write_file_atomic(dir_ / "g", "durable\n", /*durable=*/true).ok());
  EXPECT_EQ(read_file(dir_ / "f").value_or(""), "new\n");
  EXPECT_EQ(read_file(dir_ / "g").value_or(""), "durable\n");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"f", "g"}));
}

TEST_F(FileTest, FailedAtomicWriteKeepsTheOldContent) {
  ASSERT_TRUE(write_file(dir_ / "f", "old\n").ok());
  // The target is a non-empty directory: the rename must fail.
  fs::create_directories(dir_ / "d" / "inside");
  Status s = write_file_atomic(dir_ / "d", "new\n");
  ASSERT_FALSE(s.ok());
  const std::string tmp = (dir_ / "d").string() + ".tmp" + std::to_string(::getpid());
  EXPECT_EQ(s.error().message.rfind("renaming " + tmp + " to " + (dir_ / "d").string() + ": ", 0), 0u)
      << s.error().message;
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_TRUE(fs::is_directory(dir_ / "d" / "inside"));
}

}  // namespace
}  // namespace racerig
