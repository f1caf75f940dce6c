// Tests of UNIX socket addresses (unix_socket.h).
#include "rig/base/unix_socket.h"

#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace racerig {
namespace {

TEST(UnixAddress, HoldsThePathNulTerminated) {
  auto addr = unix_address("/run/racerig/qmp.sock");
  ASSERT_TRUE(addr.ok()) << addr.error().message;
  EXPECT_EQ(addr->sun_family, AF_UNIX);
  EXPECT_STREQ(addr->sun_path, "/run/racerig/qmp.sock");
}

TEST(UnixAddress, LongestPathThatFits) {
  const std::string path(sizeof(sockaddr_un{}.sun_path) - 1, 'a');
  auto addr = unix_address(path);
  ASSERT_TRUE(addr.ok()) << addr.error().message;
  EXPECT_EQ(std::string(addr->sun_path), path);
}

TEST(UnixAddress, TooLongIsAnInputErrorNamingThePath) {
  const std::string path(sizeof(sockaddr_un{}.sun_path), 'a');
  auto addr = unix_address(path);
  ASSERT_FALSE(addr.ok());
  EXPECT_EQ(addr.error().kind, ErrorKind::kInput);
  EXPECT_EQ(addr.error().message, "socket path too long: " + path);
}

}  // namespace
}  // namespace racerig
