// racerigd's default socket path and the check of a socket's directory:
// never /tmp, $XDG_RUNTIME_DIR only when it is the user's own and private,
// and a socket in a directory others can write refused.
#include "host/client/socket_path.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace racerig::client {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name, fs::perms mode) {
  fs::path d = fs::temp_directory_path() / ("racerig-socket-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  fs::permissions(d, mode, fs::perm_options::replace);
  return d;
}

TEST(DefaultSocketPath, RootHasRunAndOthersTheirRuntimeDir) {
  auto root = default_socket_path_for(0, "");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, "/run/racerigd/racerigd.sock");
  const fs::path run = fresh_dir("xdg", fs::perms::owner_all);
  const uid_t me = ::geteuid() == 0 ? 1000 : ::geteuid();  // a non-root uid, owning `run`
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(run.c_str(), me, static_cast<gid_t>(-1)), 0);
  }
  auto mine = default_socket_path_for(me, run.string());
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  EXPECT_EQ(*mine, run.string() + "/racerigd.sock");
  fs::remove_all(run);
}

TEST(DefaultSocketPath, WithoutASafeRuntimeDirThereIsNoDefault) {
  const uid_t me = ::geteuid() == 0 ? 1000 : ::geteuid();  // a non-root uid to ask for
  auto unset = default_socket_path_for(me, "");
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.error().message.find("--server unix:PATH"), std::string::npos) << unset.error().message;
  EXPECT_EQ(unset.error().message.find("/tmp/racerigd"), std::string::npos) << unset.error().message;

  auto missing = default_socket_path_for(me, "/nonexistent/run/user");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/run/user"), std::string::npos) << missing.error().message;

  // World-writable (as /tmp is): refused even when sticky.
  const fs::path shared = fresh_dir("shared", fs::perms::all | fs::perms::sticky_bit);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(shared.c_str(), me, static_cast<gid_t>(-1)), 0);  // `me`'s own
  }
  auto tmp = default_socket_path_for(me, shared.string());
  ASSERT_FALSE(tmp.ok());
  EXPECT_NE(tmp.error().message.find("group or others can write it"), std::string::npos) << tmp.error().message;
  // Someone else's directory (uid `me` + 1 does not own ours).
  const fs::path other = fresh_dir("other", fs::perms::owner_all);
  auto theirs = default_socket_path_for(::geteuid() + 1, other.string());
  ASSERT_FALSE(theirs.ok());
  EXPECT_NE(theirs.error().message.find("is owned by uid"), std::string::npos) << theirs.error().message;
  auto file = default_socket_path_for(::geteuid() == 0 ? 1 : ::geteuid(), "/etc/passwd");
  EXPECT_FALSE(file.ok());
  fs::remove_all(shared);
  fs::remove_all(other);
}

// A listening UNIX socket at `path` (closed by the caller).
int make_socket(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << path;
  return fd;
}

TEST(CheckSocketDir, APrivateDirectoryIsTrusted) {
  const fs::path dir = fresh_dir("private", fs::perms(0755));
  EXPECT_TRUE(check_socket_dir(dir / "racerigd.sock", ::geteuid()).ok());
  const int fd = make_socket(dir / "racerigd.sock");
  EXPECT_TRUE(check_socket_dir(dir / "racerigd.sock", ::geteuid()).ok());
  ::close(fd);
  EXPECT_TRUE(check_socket_dir("/nonexistent/dir/racerigd.sock", ::geteuid()).ok()) << "fails on connect instead";
  fs::remove_all(dir);
}

TEST(CheckSocketDir, AWritableDirectoryWithoutTheStickyBitIsRefused) {
  for (fs::perms mode : {fs::perms(0777), fs::perms(0775), fs::perms(0757)}) {
    const fs::path dir = fresh_dir("writable", mode);
    auto s = check_socket_dir(dir / "racerigd.sock", ::geteuid());
    ASSERT_FALSE(s.ok()) << std::oct << static_cast<unsigned>(mode);
    EXPECT_NE(s.error().message.find("could replace the socket"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find(dir.string()), std::string::npos) << s.error().message;
    fs::remove_all(dir);
  }
}

TEST(CheckSocketDir, InASharedStickyDirectoryOnlyOurOwnOrRootsSocketIsTrusted) {
  const fs::path dir = fresh_dir("sticky", fs::perms::all | fs::perms::sticky_bit);
  const fs::path sock = dir / "racerigd.sock";
  EXPECT_TRUE(check_socket_dir(sock, ::geteuid()).ok()) << "not made yet";
  const int fd = make_socket(sock);
  EXPECT_TRUE(check_socket_dir(sock, ::geteuid()).ok()) << "ours";
  // As seen by another user: the socket is someone else's (unless root's).
  if (::geteuid() != 0) {
    auto s = check_socket_dir(sock, ::geteuid() + 1);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("owned by uid " + std::to_string(::geteuid())), std::string::npos)
        << s.error().message;
  } else {
    ASSERT_EQ(::lchown(sock.c_str(), 65534, 65534), 0);
    auto s = check_socket_dir(sock, 0);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("owned by uid 65534"), std::string::npos) << s.error().message;
  }
  ::close(fd);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace racerig::client
