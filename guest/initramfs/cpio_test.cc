// The newc writer against GNU cpio and against our own reader.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "guest/agent/test_util.h"
#include "guest/initramfs/cpio.h"
#include "guest/initramfs/newc_reader_for_tests.h"

namespace racerig::initramfs {
namespace {

namespace fs = std::filesystem;

using agent::testing::TempDir;

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

void write(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(CpioTest, GnuCpioListsEveryEntry) {
  CpioWriter w;
  ASSERT_TRUE(w.add_directory("/proc").ok());
  ASSERT_TRUE(w.add_char_device("/dev/console", 5, 1).ok());
  ASSERT_TRUE(w.add_file("/lib/x86_64-linux-gnu/libx.so.1", "abc", 0755).ok());
  ASSERT_TRUE(w.add_symlink("/lib64", "lib").ok());
  std::string a = w.finish();
  EXPECT_EQ(a.size() % 4, 0u);
  TempDir dir;
  write(dir.path() + "/a.cpio", a);
  std::string list = run("cpio -t --quiet < " + dir.path() + "/a.cpio 2>&1");
  EXPECT_EQ(list, "proc\ndev\ndev/console\nlib\nlib/x86_64-linux-gnu\nlib/x86_64-linux-gnu/libx.so.1\nlib64\n");
  std::string verbose = run("cpio -tv --quiet < " + dir.path() + "/a.cpio 2>&1");
  EXPECT_NE(verbose.find("crw-------"), std::string::npos) << verbose;
  EXPECT_NE(verbose.find("5,   1"), std::string::npos) << verbose;
  EXPECT_NE(verbose.find("lib64 -> lib"), std::string::npos) << verbose;
}

TEST(CpioTest, GnuCpioExtractsContentModesAndLinks) {
  CpioWriter w;
  std::string odd(4097, 'x');
  odd[0] = '\0';
  ASSERT_TRUE(w.add_file("bin/tool", odd, 0750).ok());
  ASSERT_TRUE(w.add_file("etc/a", "", 0600).ok());
  ASSERT_TRUE(w.add_file("etc/b", "b", 0644).ok());
  ASSERT_TRUE(w.add_symlink("/etc/link", "b").ok());
  ASSERT_TRUE(w.add_directory("/tmp", 01777).ok());
  TempDir dir;
  const std::string root = dir.path() + "/root";
  fs::create_directories(root);
  write(dir.path() + "/a.cpio", w.finish());
  std::string out = run("cd " + root + " && cpio -i -d --quiet < ../a.cpio 2>&1");
  EXPECT_EQ(out, "");
  EXPECT_EQ(read(root + "/bin/tool"), odd);
  EXPECT_EQ(read(root + "/etc/a"), "");
  EXPECT_EQ(read(root + "/etc/b"), "b");
  EXPECT_EQ(fs::read_symlink(root + "/etc/link"), "b");
  struct stat st {};
  ASSERT_EQ(::stat((root + "/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  ASSERT_EQ(::stat((root + "/tmp").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 01777u);
}

TEST(CpioTest, ConcatenatedArchivesReadInOrder) {
  CpioWriter a, b;
  ASSERT_TRUE(a.add_file("racerig/plan.pb", "old").ok());
  ASSERT_TRUE(b.add_file("racerig/plan.pb", "new!!").ok());
  auto entries = testing::read_newc(a.finish() + b.finish());
  ASSERT_TRUE(entries.has_value());
  const auto* e = testing::find_entry(*entries, "racerig/plan.pb");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->data, "new!!");
  EXPECT_EQ(entries->back().name, "TRAILER!!!");
}

TEST(CpioTest, BadNamesAreRefused) {
  CpioWriter w;
  EXPECT_FALSE(w.add_file("", "x").ok());
  EXPECT_FALSE(w.add_file("/", "x").ok());
  EXPECT_FALSE(w.add_file("a/../b", "x").ok());
  EXPECT_FALSE(w.add_file("a//b", "x").ok());
  EXPECT_FALSE(w.add_file("./a", "x").ok());
  EXPECT_FALSE(w.add_file(std::string("a\0b", 3), "x").ok());
  EXPECT_FALSE(w.add_symlink("l", "").ok());
  Status s = w.add_directory("x/./y");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("x/./y"), std::string::npos);
  // Nothing half-written: the archive is just the trailer.
  auto entries = testing::read_newc(w.finish());
  ASSERT_TRUE(entries.has_value());
  EXPECT_EQ(entries->size(), 1u);
}

}  // namespace
}  // namespace racerig::initramfs
