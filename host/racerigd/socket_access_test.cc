// racerigd's --socket-mode and --socket-group: the value's checks, and a
// real socket given the mode and group.
#include "host/racerigd/socket_access.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include <gtest/gtest.h>

namespace racerig::racerigd {
namespace {

namespace fs = std::filesystem;

TEST(SocketMode, OctalReadWriteBitsOnly) {
  auto m = parse_socket_mode("0660");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, 0660u);
  EXPECT_EQ(*parse_socket_mode("600"), 0600u);
  for (const char* bad : {"", "0770", "4660", "rw-rw----", "0689", "00660"}) {
    auto r = parse_socket_mode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find(std::string("--socket-mode \"") + bad + "\""), std::string::npos)
        << r.error().message;
  }
}

TEST(SocketGroup, AnUnknownGroupIsRefusedByName) {
  auto g = group_id("racerig-no-such-group");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message.find("--socket-group racerig-no-such-group: no such group"), std::string::npos)
      << g.error().message;
}

TEST(SocketAccess, TheSocketGetsTheModeAndGroup) {
  const fs::path dir = fs::temp_directory_path() / ("racerigd-socket-access-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path sock = dir / "racerigd.sock";
  const mode_t old_umask = ::umask(077);  // as racerigd makes it
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::umask(old_umask);
  struct stat st {};
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "bound under umask 077";

  // A group we may give it: as root any (nogroup if there is one), else
  // one of ours, found by name as an operator would give it.
  gid_t gid = ::getegid();
  if (::geteuid() == 0) {
    if (auto nogroup = group_id("nogroup"); nogroup.ok()) gid = *nogroup;
  } else {
    std::vector<gid_t> groups(static_cast<size_t>(::getgroups(0, nullptr)));
    if (!groups.empty() && ::getgroups(static_cast<int>(groups.size()), groups.data()) > 0) gid = groups.back();
  }
  const struct group* named = ::getgrgid(gid);
  ASSERT_NE(named, nullptr);
  auto by_name = group_id(named->gr_name);
  ASSERT_TRUE(by_name.ok()) << by_name.error().message;
  EXPECT_EQ(*by_name, gid);

  ASSERT_TRUE(set_socket_access(sock, 0660, *by_name).ok());
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_gid, gid);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  ASSERT_TRUE(set_socket_access(sock, 0600).ok());
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_gid, gid) << "no group given: unchanged";

  auto missing = set_socket_access(dir / "missing.sock", 0600);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing.sock"), std::string::npos) << missing.error().message;
  ::close(fd);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace racerig::racerigd
