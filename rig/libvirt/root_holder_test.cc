// Tests of who holds an embedded root (root_holder.h), with a real record
// lock taken as libvirt's embedded driver takes it.
#include "rig/libvirt/root_holder.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace racerig::libvirt {
namespace {

namespace fs = std::filesystem;

TEST(EmbedRootHolder, NamesTheLockingProcessAndNobodyOnceItIsGone) {
  char tmpl[] = "/tmp/racerig-root-holder-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path root = tmpl;
  EXPECT_EQ(embed_root_holder(root), std::nullopt) << "no lock file";
  fs::create_directories(root / "run/qemu");
  std::ofstream(root / "run/qemu/driver.pid") << "1\n";
  EXPECT_EQ(embed_root_holder(root), std::nullopt) << "a file nobody locks (a dead driver's)";

  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = ::open((root / "run/qemu/driver.pid").c_str(), O_RDWR);
    struct flock l {};
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    if (fd < 0 || ::fcntl(fd, F_SETLK, &l) != 0) ::_exit(1);
    (void)::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(embed_root_holder(root), child);
  EXPECT_EQ(describe_holder(child).rfind("pid " + std::to_string(child) + " (", 0), 0u) << describe_holder(child);

  // Waiting for it: said once, naming the holder; a timeout names it too.
  std::vector<std::string> said;
  Status s = hold_embed_root(root, Deadline::after(std::chrono::milliseconds(700)),
                             [&](const std::string& line) { said.push_back(line); });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kTimeout);
  EXPECT_NE(s.error().message.find("in use by pid " + std::to_string(child)), std::string::npos) << s.error().message;
  ASSERT_EQ(said.size(), 1u);
  EXPECT_NE(said[0].find("is in use by pid " + std::to_string(child)), std::string::npos) << said[0];
  EXPECT_NE(said[0].find("waiting for it"), std::string::npos) << said[0];

  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_EQ(embed_root_holder(root), std::nullopt);
  EXPECT_EQ(describe_holder(child), "pid " + std::to_string(child));

  // Free now: held by this process from here on, which another process sees.
  said.clear();
  s = hold_embed_root(root, Deadline::after(std::chrono::seconds(5)), [&](const std::string& line) { said.push_back(line); });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(said.empty());
  EXPECT_TRUE(hold_embed_root(root, Deadline::after(std::chrono::seconds(0)), {}).ok()) << "held already";
  pid_t probe = ::fork();
  ASSERT_GE(probe, 0);
  if (probe == 0) ::_exit(embed_root_holder(root) == ::getppid() ? 0 : 1);
  int status = 0;
  ASSERT_EQ(::waitpid(probe, &status, 0), probe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "another process sees this one as the holder";
  fs::remove_all(root);
}

TEST(HoldEmbedRoot, ARootNeverStartedIsFree) {
  EXPECT_TRUE(hold_embed_root("/nonexistent/racerig-root", Deadline::after(std::chrono::seconds(0)), {}).ok());
}

}  // namespace
}  // namespace racerig::libvirt
