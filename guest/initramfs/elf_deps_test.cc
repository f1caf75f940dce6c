// ELF parsing and the library walk, on this machine's mkfs.xfs and on
// corrupted copies of it.
#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "guest/initramfs/elf_deps.h"

namespace racerig::initramfs {
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

// mkfs.xfs's header fields, read and written in place.
template <typename T>
T get(const std::string& b, uint64_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}
template <typename T>
void put(std::string& b, uint64_t off, const T& v) {
  std::memcpy(b.data() + off, &v, sizeof v);
}
// The file offset of the first program header of `type`.
uint64_t phdr_at(const std::string& b, uint32_t type) {
  const auto eh = get<Elf64_Ehdr>(b, 0);
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    const uint64_t at = eh.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr);
    if (get<Elf64_Phdr>(b, at).p_type == type) return at;
  }
  ADD_FAILURE() << "mkfs.xfs has no program header of type " << type;
  return 0;
}
// The file offset of the first dynamic entry with `tag`.
uint64_t dyn_at(const std::string& b, int64_t tag) {
  const auto dynamic = get<Elf64_Phdr>(b, phdr_at(b, PT_DYNAMIC));
  for (uint64_t at = dynamic.p_offset; at + sizeof(Elf64_Dyn) <= dynamic.p_offset + dynamic.p_filesz;
       at += sizeof(Elf64_Dyn))
    if (get<Elf64_Dyn>(b, at).d_tag == tag) return at;
  ADD_FAILURE() << "mkfs.xfs has no dynamic entry " << tag;
  return 0;
}

// Each corruption of a header gives its own input error, naming the file.
TEST(ElfDepsTest, CorruptHeadersAreInputErrorsSayingWhatIsWrong) {
  const std::string mkfs = read(kMkfs);
  ASSERT_GT(mkfs.size(), 4096u);
  const uint64_t size = mkfs.size();
  struct Corruption {
    const char* name;
    std::function<void(std::string&)> apply;
    std::string error;
  };
  const uint64_t strsz = get<Elf64_Dyn>(mkfs, dyn_at(mkfs, DT_STRSZ)).d_un.d_val;
  const std::vector<Corruption> corruptions = {
      {"magic", [](std::string& b) { b[1] = 'X'; }, "not an ELF file"},
      {"cut short", [](std::string& b) { b.resize(10); }, "not an ELF file"},
      {"32-bit class", [](std::string& b) { b[EI_CLASS] = ELFCLASS32; }, "not a 64-bit little-endian ELF file"},
      {"big-endian", [](std::string& b) { b[EI_DATA] = ELFDATA2MSB; }, "not a 64-bit little-endian ELF file"},
      {"program header size", [](std::string& b) { put<uint16_t>(b, offsetof(Elf64_Ehdr, e_phentsize), 32); },
       "program header size 32, expected 56"},
      {"program headers past the end",
       [&](std::string& b) { put<uint64_t>(b, offsetof(Elf64_Ehdr, e_phoff), size - 10); },
       "program header 0 lies past the end of the file"},
      {"PT_INTERP past the end",
       [&](std::string& b) { put<uint64_t>(b, phdr_at(b, PT_INTERP) + offsetof(Elf64_Phdr, p_offset), size + 1); },
       "PT_INTERP past the end"},
      {"PT_DYNAMIC past the end",
       [&](std::string& b) { put<uint64_t>(b, phdr_at(b, PT_DYNAMIC) + offsetof(Elf64_Phdr, p_offset), size - 8); },
       "PT_DYNAMIC past the end"},
      {"DT_STRTAB outside every PT_LOAD",
       [](std::string& b) { put<uint64_t>(b, dyn_at(b, DT_STRTAB) + offsetof(Elf64_Dyn, d_un), 0); },
       "DT_STRTAB is not inside a PT_LOAD segment"},
      {"DT_STRSZ past the end",
       [&](std::string& b) { put<uint64_t>(b, dyn_at(b, DT_STRSZ) + offsetof(Elf64_Dyn, d_un), 2 * size); },
       "DT_STRTAB/DT_STRSZ past the end"},
      {"DT_NEEDED outside DT_STRTAB",
       [&](std::string& b) { put<uint64_t>(b, dyn_at(b, DT_NEEDED) + offsetof(Elf64_Dyn, d_un), strsz); },
       "DT_NEEDED string at " + std::to_string(strsz) + " outside DT_STRTAB"},
  };
  for (const auto& c : corruptions) {
    std::string copy = mkfs;
    c.apply(copy);
    auto r = read_elf_info(copy, "fuzz");
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().kind, ErrorKind::kInput) << c.name;
    EXPECT_EQ(r.error().message, "fuzz: " + c.error) << c.name;
  }
}

// Random bytes in and around the program headers: each copy parses, or
// fails with an input error naming the file (never a crash, never another
// kind of error).
TEST(ElfDepsTest, RandomlyCorruptHeadersParseOrAreInputErrors) {
  std::string mkfs = read(kMkfs);
  uint64_t state = 12345;
  int failed = 0;
  for (int round = 0; round < 300; ++round) {
    std::string copy = mkfs;
    for (int k = 0; k < 4; ++k) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      size_t at = 16 + (state >> 33) % 1000;  // program headers and around
      copy[at] = static_cast<char>(state >> 13);
    }
    auto r = read_elf_info(copy, "fuzz");
    if (r.ok()) continue;
    ++failed;
    EXPECT_EQ(r.error().kind, ErrorKind::kInput) << r.error().message;
    EXPECT_EQ(r.error().message.rfind("fuzz: ", 0), 0u) << r.error().message;
  }
  EXPECT_GT(failed, 0) << "no corruption was noticed";
}

}  // namespace
}  // namespace racerig::initramfs
