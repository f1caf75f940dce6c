// copy_sparse: the bytes, the holes and the size of an NVDIMM template.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "rig/machine/sparse_copy.h"

namespace racerig::machine {
namespace {

namespace fs = std::filesystem;

struct Dir {
  Dir() {
    std::string t = (fs::temp_directory_path() / "racerig-copy-XXXXXX").string();
    path = ::mkdtemp(t.data()) != nullptr ? t : "";
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(CopySparseTest, KeepsDataSizeAndHoles) {
  Dir d;
  ASSERT_FALSE(d.path.empty());
  const fs::path src = d.path / "template.img", dst = d.path / "pmem.img";
  constexpr off_t kSize = 64 << 20;
  {
    int fd = ::open(src.c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, kSize), 0);
    const std::string a(8192, 'a'), b(4096, 'b');
    ASSERT_EQ(::pwrite(fd, a.data(), a.size(), 4096), static_cast<ssize_t>(a.size()));
    ASSERT_EQ(::pwrite(fd, b.data(), b.size(), 40 << 20), static_cast<ssize_t>(b.size()));
    ::close(fd);
  }
  Status s = copy_sparse(src, dst);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(fs::file_size(dst), static_cast<uintmax_t>(kSize));
  EXPECT_TRUE(slurp(dst) == slurp(src));
  struct stat st {};
  ASSERT_EQ(::stat(dst.c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 8 << 20) << "the holes stayed holes";
  EXPECT_FALSE(fs::exists(dst.string() + ".tmp"));
}

TEST(CopySparseTest, MissingSourceIsAnErrorNamingIt) {
  Dir d;
  Status s = copy_sparse(d.path / "nope.img", d.path / "out.img");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("nope.img"), std::string::npos) << s.error().message;
  EXPECT_FALSE(fs::exists(d.path / "out.img"));
}

}  // namespace
}  // namespace racerig::machine
