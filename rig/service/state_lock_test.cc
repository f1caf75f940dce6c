// The state directory's lock and the tokens file's checks: what keeps a
// second daemon off a state directory and a readable tokens file out.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "rig/service/auth.h"
#include "rig/service/state_lock.h"

namespace racerig::service {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("racerig-lock-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(StateLock, ASecondHolderIsRefusedNamingTheFirst) {
  const fs::path dir = fresh_dir("lock");
  {
    auto first = StateLock::acquire(dir);
    ASSERT_TRUE(first.ok()) << first.error().message;
    struct stat st {};
    ASSERT_EQ(::stat((dir / StateLock::kFileName).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    std::ifstream in(dir / StateLock::kFileName);
    std::string pid;
    in >> pid;
    EXPECT_EQ(pid, std::to_string(::getpid()));
    // flock belongs to the open file: a second open, even in this process, is refused.
    auto second = StateLock::acquire(dir);
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.error().message.find("already in use by racerigd pid " + std::to_string(::getpid())),
              std::string::npos)
        << second.error().message;
    EXPECT_NE(second.error().message.find(dir.string()), std::string::npos) << second.error().message;
  }
  auto again = StateLock::acquire(dir);
  EXPECT_TRUE(again.ok()) << "released with its holder: " << (again.ok() ? "" : again.error().message);
  fs::remove_all(dir);
}

TEST(TokensFile, OnlyAPrivateFileOfOursOrRootsIsLoaded) {
  const fs::path dir = fresh_dir("tokens");
  const fs::path file = dir / "tokens";
  std::ofstream(file) << "ci 0123456789abcdef0\n";
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    ASSERT_EQ(::chmod(file.c_str(), mode), 0);
    auto t = TokenTable::load(file);
    ASSERT_FALSE(t.ok()) << std::oct << mode;
    EXPECT_NE(t.error().message.find("chmod 600"), std::string::npos) << t.error().message;
    EXPECT_NE(t.error().message.find(file.string()), std::string::npos) << t.error().message;
  }
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  auto ok = TokenTable::load(file);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->size(), 1u);
  ASSERT_EQ(::chmod(file.c_str(), 0400), 0);
  EXPECT_TRUE(TokenTable::load(file).ok()) << "read-only for its owner is fine";
  // Owned by someone else: as root, give it away; otherwise a root-owned
  // file is fine and there is no other owner to make.
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(file.c_str(), 65534, 65534), 0);
    auto other = TokenTable::load(file);
    ASSERT_FALSE(other.ok());
    EXPECT_NE(other.error().message.find("owned by uid 65534"), std::string::npos) << other.error().message;
  }
  auto dir_given = TokenTable::load(dir);
  EXPECT_FALSE(dir_given.ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace racerig::service
