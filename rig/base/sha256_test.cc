// Tests of SHA-256 hex digests (sha256.h), against the FIPS 180-2 examples.
#include "rig/base/sha256.h"

#include <cstdlib>

#include <gtest/gtest.h>

#include "rig/base/file.h"

namespace racerig {
namespace {

constexpr char kEmpty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(Sha256Hex, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), kEmpty);
  EXPECT_EQ(sha256_hex("abc"), kAbc);
}

TEST(Sha256FileHex, SameAsTheTextAndNamesAMissingFile) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "racerig-sha256-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::filesystem::path dir = tmpl;
  ASSERT_TRUE(write_file(dir / "abc", "abc").ok());
  ASSERT_TRUE(write_file(dir / "empty", "").ok());
  // More than one read buffer (1 MiB).
  const std::string big((3 << 20) + 7, 'z');
  ASSERT_TRUE(write_file(dir / "big", big).ok());
  EXPECT_EQ(sha256_file_hex(dir / "abc").value_or(""), kAbc);
  EXPECT_EQ(sha256_file_hex(dir / "empty").value_or(""), kEmpty);
  EXPECT_EQ(sha256_file_hex(dir / "big").value_or(""), sha256_hex(big));
  auto missing = sha256_file_hex(dir / "missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "opening " + (dir / "missing").string() + ": No such file or directory");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace racerig
