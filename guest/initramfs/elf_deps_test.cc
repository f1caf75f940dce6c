// ELF parsing and the library walk, on this machine's mkfs.xfs and on
// corrupted copies of it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "guest/initramfs/elf_deps.h"

namespace racerig::guest {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr char kMkfs[] = "/sbin/mkfs.xfs";

TEST(ElfDepsTest, ReadsInterpreterAndNeeded) {
  auto info = read_elf_file(kMkfs);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->machine, 62);
  EXPECT_EQ(info->interpreter, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_NE(std::find(info->needed.begin(), info->needed.end(), "libc.so.6"), info->needed.end());
}

TEST(ElfDepsTest, StaticAgentHasNoInterpreter) {
  auto info = read_elf_file(RACERIG_AGENT_BUILD_PATH);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_TRUE(info->interpreter.empty());
  EXPECT_TRUE(info->needed.empty());
}

TEST(ElfDepsTest, ClosureOfMkfsXfs) {
  auto libs = shared_library_closure(kMkfs, default_library_dirs());
  ASSERT_TRUE(libs.ok()) << libs.error().message;
  std::vector<std::string> guest;
  for (const auto& f : *libs) guest.push_back(f.guest_path);
  ASSERT_FALSE(guest.empty());
  EXPECT_EQ(guest[0], "/lib64/ld-linux-x86-64.so.2");
  for (const char* soname : {"libc.so.6", "libblkid.so.1", "libuuid.so.1", "libinih.so.1", "liburcu.so.8"}) {
    bool found = false;
    for (const auto& g : guest) found = found || std::filesystem::path(g).filename() == soname;
    EXPECT_TRUE(found) << soname;
  }
  // The loader appears once (libc's DT_NEEDED on it is satisfied by itself).
  EXPECT_EQ(std::count_if(guest.begin(), guest.end(),
                          [](const std::string& g) { return g.find("ld-linux-x86-64.so.2") != std::string::npos; }),
            1);
  std::sort(guest.begin(), guest.end());
  EXPECT_EQ(std::adjacent_find(guest.begin(), guest.end()), guest.end());
}

TEST(ElfDepsTest, MissingLibraryNamesItAndWhoNeedsIt) {
  auto libs = shared_library_closure(kMkfs, {"/nonexistent"});
  ASSERT_FALSE(libs.ok());
  EXPECT_EQ(libs.error().kind, ErrorKind::kInput);
  EXPECT_NE(libs.error().message.find(std::string(kMkfs) + " needs lib"), std::string::npos) << libs.error().message;
  EXPECT_NE(libs.error().message.find("/nonexistent"), std::string::npos);
}

TEST(ElfDepsTest, NotElfAndTruncated) {
  auto a = read_elf_info("#!/bin/sh\n", "script");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("script: not an ELF file"), std::string::npos);
  std::string mkfs = read(kMkfs);
  ASSERT_GT(mkfs.size(), 4096u);
  for (size_t len : {size_t{16}, size_t{64}, size_t{200}, size_t{1000}, mkfs.size() / 2}) {
    auto r = read_elf_info(std::string_view(mkfs).substr(0, len), "cut");
    (void)r;  // an error or a partial answer, never a crash
  }
}

TEST(ElfDepsTest, CorruptHeadersNeverCrash) {
  std::string mkfs = read(kMkfs);
  uint64_t state = 12345;
  for (int round = 0; round < 300; ++round) {
    std::string copy = mkfs;
    for (int k = 0; k < 4; ++k) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      size_t at = 16 + (state >> 33) % 1000;  // program headers and around
      copy[at] = static_cast<char>(state >> 13);
    }
    auto r = read_elf_info(copy, "fuzz");
    (void)r;
  }
}

}  // namespace
}  // namespace racerig::guest
