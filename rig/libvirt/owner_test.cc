// Owner tags: the metadata element both ways, and
// liveness (a dead pid, a recycled pid, another host).
#include "rig/libvirt/owner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace racerig::libvirt {
namespace {

TEST(Owner, ElementRoundTrips) {
  OwnerTag t{4242, 99, "host-a", "/tmp/racerig-run-x"};
  auto back = parse_owner_element(owner_element(t));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, t);
}

TEST(Owner, MalformedElementsNameTheField) {
  auto r = parse_owner_element("<racerig:owner xmlns:racerig='urn:racerig:libvirt:owner:1' pid='x' start='1' host='h'/>");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bad pid 'x'"), std::string::npos);
  r = parse_owner_element("<racerig:owner xmlns:racerig='urn:racerig:libvirt:owner:1' pid='3' host='h'/>");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bad start"), std::string::npos);
  r = parse_owner_element("<other/>");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("<other>"), std::string::npos);
  EXPECT_FALSE(parse_owner_element("<<<").ok());
}

TEST(Owner, SelfIsAliveADeadChildIsNotARecycledPidIsNot) {
  OwnerTag me = self_owner();
  EXPECT_GT(me.start_ticks, 0u);
  EXPECT_TRUE(owner_alive(me));
  OwnerTag recycled = me;
  recycled.start_ticks += 1;  // same pid, another process
  EXPECT_FALSE(owner_alive(recycled));
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  OwnerTag dead = me;
  dead.pid = child;
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(owner_alive(dead));
  OwnerTag elsewhere = dead;
  elsewhere.host = me.host + "-other";
  EXPECT_TRUE(owner_alive(elsewhere));  // not ours to judge
}

}  // namespace
}  // namespace racerig::libvirt
