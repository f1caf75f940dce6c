// QMP message classification, JSON member lookup, line framing and the
// cancel flag, without QEMU. The lines are QEMU 7.2's own.
#include "rig/qemu/qmp.h"

#include <poll.h>
#include <signal.h>

#include <gtest/gtest.h>

#include "rig/qemu/cancel.h"

namespace racerig::vm {
namespace {

TEST(Qmp, ClassifiesQemusMessages) {
  auto g = classify_qmp_line(
      R"({"QMP": {"version": {"qemu": {"micro": 19, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18"}, "capabilities": ["oob"]}})");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->kind, QmpMessage::Kind::kGreeting);
  auto r = classify_qmp_line(R"({"return": {"status": "paused", "singlestep": false, "running": false}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, QmpMessage::Kind::kReturn);
  EXPECT_EQ(json_string(*json_member(r->text, "status")).value(), "paused");
  auto e = classify_qmp_line(R"({"error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, QmpMessage::Kind::kError);
  EXPECT_EQ(e->text, "CommandNotFound: The command nope has not been found");
  auto ev = classify_qmp_line(
      R"({"timestamp": {"seconds": 1764021000, "microseconds": 5}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}})");
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->kind, QmpMessage::Kind::kEvent);
  EXPECT_EQ(ev->text, "SHUTDOWN");
}

TEST(Qmp, GarbageIsAnErrorNamingIt) {
  for (const char* bad : {"", "not json", "{", R"({"return")", R"({"x": 1})", "[1,2]", R"({"a": "unterminated})"}) {
    auto m = classify_qmp_line(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.error().kind, ErrorKind::kProtocol);
  }
}

TEST(Qmp, JsonMembersHonourNestingAndStrings) {
  std::string o = R"({"a": {"b": "}{,\"x"}, "c": [1, {"d": 2}], "e": true, "f": "q\u0041\n"})";
  EXPECT_EQ(json_member(o, "a").value(), R"({"b": "}{,\"x"})");
  EXPECT_EQ(json_member(o, "c").value(), R"([1, {"d": 2}])");
  EXPECT_EQ(json_member(o, "e").value(), "true");
  EXPECT_EQ(json_string(json_member(o, "f").value()).value(), "qA\n");
  EXPECT_FALSE(json_member(o, "d").has_value());  // not top level
  EXPECT_EQ(json_quote("a\"b\\\n"), R"("a\"b\\\u000a")");
}

TEST(LineBuffer, SplitsAcrossReadsAndDropsCarriageReturns) {
  LineBuffer b;
  b.feed("Linux version 6.1\r\nBUG: kernel NULL po");
  auto first = b.take_lines();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0], "Linux version 6.1");
  b.feed("inter dereference\r\n\r\n");
  auto second = b.take_lines();
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0], "BUG: kernel NULL pointer dereference");
  EXPECT_EQ(second[1], "");
  EXPECT_TRUE(b.take_lines().empty());
}

TEST(LineBuffer, ClearDropsTheUnfinishedLine) {
  LineBuffer b;
  b.feed("[  1.0] half a li");
  b.clear();
  b.feed("BUG: kernel NULL pointer dereference\n");
  auto lines = b.take_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "BUG: kernel NULL pointer dereference");
}

TEST(LineBuffer, CutsEndlessLines) {
  LineBuffer b;
  b.feed(std::string(LineBuffer::kMaxLine + 5, 'x'));
  auto lines = b.take_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].size(), LineBuffer::kMaxLine);
  EXPECT_EQ(b.partial().size(), 5u);
}

TEST(Cancel, SigintSetsTheFlagAndWakesTheFd) {
  install_cancel_handlers();
  ASSERT_GE(cancel_fd(), 0);
  EXPECT_FALSE(cancelled());
  pollfd p{cancel_fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  ::raise(SIGINT);
  EXPECT_TRUE(cancelled());
  EXPECT_EQ(::poll(&p, 1, 1000), 1);
}

}  // namespace
}  // namespace racerig::vm
