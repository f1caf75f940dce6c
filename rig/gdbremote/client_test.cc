// The RSP client against a scripted stub that answers as QEMU 7.2 does.
#include "rig/gdbremote/client.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "rig/gdbremote/scripted_stub.h"

namespace racerig::gdbremote {
namespace {

using testing::Exchange;
using testing::ScriptedStub;

Deadline soon() { return Deadline::after(std::chrono::milliseconds(5000)); }
Deadline short_wait() { return Deadline::after(std::chrono::milliseconds(200)); }

// QEMU 7.2's replies to the handshake, as captured with gdb's
// "set debug remote 1" (the register file is cut down to a few registers).
const char kTop[] =
    "l<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target><architecture>i386:x86-64"
    "</architecture><xi:include href=\"i386-64bit.xml\"/></target>";
const char kRegsPart1[] =
    "m<?xml version=\"1.0\"?>\n<feature name=\"org.gnu.gdb.i386.core\">\n"
    "  <reg name=\"rax\" bitsize=\"64\" type=\"int64\"/>\n  <reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>\n"
    "  <reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>\n  <reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>\n";
const char kRegsPart2[] =
    "l  <reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n  <reg name=\"eflags\" bitsize=\"32\" type=\"x64_eflags\"/>\n"
    "  <reg name=\"gs_base\" bitsize=\"64\" type=\"int64\"/>\n</feature>\n";

std::vector<Exchange> handshake_script() {
  std::string part1 = kRegsPart1;
  char offset[16];
  std::snprintf(offset, sizeof offset, "%zx", part1.size() - 1);
  return {
      {"qSupported:xmlRegisters=i386;vContSupported+", {"PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+"}},
      {"vCont?", {"vCont;c;C;s;S"}},
      {"qXfer:features:read:target.xml:0,ffb", {kTop}},
      {"qXfer:features:read:i386-64bit.xml:0,ffb", {kRegsPart1}},
      {std::string("qXfer:features:read:i386-64bit.xml:") + offset + ",ffb", {kRegsPart2}},
      {"?", {"T05thread:01;"}},
  };
}

std::vector<Exchange> with_handshake(std::vector<Exchange> more) {
  auto s = handshake_script();
  s.insert(s.end(), more.begin(), more.end());
  return s;
}

void expect_clean(ScriptedStub& stub) {
  for (const auto& p : stub.problems()) ADD_FAILURE() << p;
}

TEST(Client, HandshakeReadsTheDescriptionWithIncludes) {
  ScriptedStub stub(handshake_script());
  Client c(stub.connection());
  Status s = c.handshake(soon());
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(c.registers().size(), 7u);
  EXPECT_EQ(c.registers()[3].name, "rdx");
  EXPECT_EQ(c.registers()[3].regnum, 3);
  EXPECT_EQ(c.registers()[6].name, "gs_base");
  EXPECT_EQ(c.registers()[6].regnum, 6);
  EXPECT_EQ(c.last_stop().thread, 1);
  EXPECT_TRUE(stub.finished());
  expect_clean(stub);
}

TEST(Client, BreakpointHoldAndPerVcpuResume) {
  // The seed schedule's shape: break, vCPU0 hits, resume only vCPU1.
  ScriptedStub stub(with_handshake({
      {"Z0,ffffffff81453a20,1", {"OK"}},
      {"vCont;c:1;c:2", {"T05thread:01;"}},
      {"Hg1", {"OK"}},
      {"p3", {"0100000000000000"}},
      {"vCont;c:2", {"T05thread:02;"}},
      {"z0,ffffffff81453a20,1", {"OK"}},
      {"vCont;s:2", {"T05thread:02;"}},
  }));
  Client c(stub.connection());
  ASSERT_TRUE(c.handshake(soon()).ok());
  GuestAddr bp(0xffffffff81453a20);
  ASSERT_TRUE(c.insert_breakpoint(bp, BreakpointKind::kSoftware, soon()).ok());
  ASSERT_TRUE(c.resume({{1, Client::ThreadAction::kContinue}, {2, Client::ThreadAction::kContinue}}, soon()).ok());
  EXPECT_TRUE(c.running());
  auto hit = c.wait_stop(soon());
  ASSERT_TRUE(hit.ok()) << hit.error().message;
  EXPECT_FALSE(hit->woken);
  EXPECT_EQ(hit->stop.thread, 1);
  auto rdx = c.read_register(1, "rdx", soon());
  ASSERT_TRUE(rdx.ok()) << rdx.error().message;
  EXPECT_EQ(*rdx, 1u);
  ASSERT_TRUE(c.resume({{2, Client::ThreadAction::kContinue}}, soon()).ok());
  auto second = c.wait_stop(soon());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->stop.thread, 2);
  ASSERT_TRUE(c.remove_breakpoint(bp, BreakpointKind::kSoftware, soon()).ok());
  auto stepped = c.step(2, soon());
  ASSERT_TRUE(stepped.ok());
  EXPECT_EQ(stepped->thread, 2);
  expect_clean(stub);
}

TEST(Client, WakesOnTheEventFdAndInterrupts) {
  ScriptedStub stub(with_handshake({
      {"vCont;c:1;c:2", {}},
      {"\x03", {"T02thread:01;"}},
  }));
  Client c(stub.connection());
  ASSERT_TRUE(c.handshake(soon()).ok());
  ASSERT_TRUE(c.resume({{1, Client::ThreadAction::kContinue}, {2, Client::ThreadAction::kContinue}}, soon()).ok());
  ScopedFd efd(::eventfd(1, EFD_CLOEXEC));
  auto r = c.wait_stop(soon(), efd.get());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->woken);
  EXPECT_TRUE(c.running());
  // Requests that need a stopped target refuse instead of hanging.
  auto reg = c.read_register(1, "rip", soon());
  ASSERT_FALSE(reg.ok());
  EXPECT_EQ(reg.error().kind, ErrorKind::kInternal);
  auto stop = c.interrupt(soon());
  ASSERT_TRUE(stop.ok()) << stop.error().message;
  EXPECT_EQ(stop->signal, 2);
  EXPECT_FALSE(c.running());
  // Interrupting a stopped target sends nothing and returns the last stop.
  auto again = c.interrupt(soon());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->signal, 2);
  expect_clean(stub);
  EXPECT_TRUE(stub.finished());
}

TEST(Client, ReadsMemoryInChunksAndReportsUnmapped) {
  ScriptedStub stub(with_handshake({
      {"Hg2", {"OK"}},
      {"mffffffff82000000,4", {"ea5be000"}},
      {"Hg2", {"OK"}},
      {"m0,10", {"E14"}},
  }));
  Client c(stub.connection());
  ASSERT_TRUE(c.handshake(soon()).ok());
  auto m = c.read_memory(2, GuestAddr(0xffffffff82000000), 4, soon());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(*m, (std::vector<uint8_t>{0xea, 0x5b, 0xe0, 0x00}));
  auto bad = c.read_memory(2, GuestAddr(0), 16, soon());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kProtocol);
  EXPECT_NE(bad.error().message.find("0x0000000000000000"), std::string::npos) << bad.error().message;
  expect_clean(stub);
}

TEST(Client, RetransmitsAfterANackAndAsksAgainForACorruptReply) {
  ScriptedStub stub(with_handshake({
      {"Z0,1000,1", {"OK"}, "", /*nack_once=*/true},
      {"Z1,2000,1", {"OK"}, "$OK#00"},  // a corrupt copy first, then a good one
  }));
  Client c(stub.connection());
  ASSERT_TRUE(c.handshake(soon()).ok());
  Status a = c.insert_breakpoint(GuestAddr(0x1000), BreakpointKind::kSoftware, soon());
  EXPECT_TRUE(a.ok()) << a.error().message;
  Status b = c.insert_breakpoint(GuestAddr(0x2000), BreakpointKind::kHardware, soon());
  EXPECT_TRUE(b.ok()) << b.error().message;
  expect_clean(stub);
}

TEST(Client, OddRepliesAreErrorsNotCrashes) {
  ScriptedStub stub(with_handshake({
      {"Z0,1000,1", {"E22"}},
      {"Z0,1000,1", {""}},
      {"Hg1", {"OK"}},
      {"p0", {"0100"}},  // too short for a 64-bit register
      {"vCont;c:1", {"T05thread:zz;"}},
  }));
  Client c(stub.connection());
  ASSERT_TRUE(c.handshake(soon()).ok());
  Status e = c.insert_breakpoint(GuestAddr(0x1000), BreakpointKind::kSoftware, soon());
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("E22"), std::string::npos);
  Status empty = c.insert_breakpoint(GuestAddr(0x1000), BreakpointKind::kSoftware, soon());
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("does not support"), std::string::npos);
  auto reg = c.read_register(1, "rax", soon());
  ASSERT_FALSE(reg.ok());
  EXPECT_EQ(reg.error().kind, ErrorKind::kProtocol);
  auto unknown = c.read_register(1, "xmm99", soon());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kInput);
  ASSERT_TRUE(c.resume({{1, Client::ThreadAction::kContinue}}, soon()).ok());
  auto stop = c.wait_stop(soon());
  ASSERT_FALSE(stop.ok());
  EXPECT_EQ(stop.error().kind, ErrorKind::kProtocol);
  expect_clean(stub);
}

TEST(Client, SilenceEndsAtTheDeadlineAndHangUpIsAnError) {
  {
    ScriptedStub stub(with_handshake({{"Z0,1000,1", {}}}));
    Client c(stub.connection());
    ASSERT_TRUE(c.handshake(soon()).ok());
    Status s = c.insert_breakpoint(GuestAddr(0x1000), BreakpointKind::kSoftware, short_wait());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::kTimeout);
  }
  {
    ScriptedStub stub(with_handshake({{"vCont;c:1", {}, "", false, /*hang_up=*/true}}));
    Client c(stub.connection());
    ASSERT_TRUE(c.handshake(soon()).ok());
    // The ack may or may not arrive before the hang-up; either way the wait
    // ends with an I/O error instead of blocking.
    Status r = c.resume({{1, Client::ThreadAction::kContinue}}, soon());
    Error e = r.ok() ? c.wait_stop(soon()).error() : r.error();
    EXPECT_EQ(e.kind, ErrorKind::kIo) << e.message;
  }
}

// A reply that comes after the deadline would answer the next request:
// after any timeout the client refuses every request without sending it.
TEST(Client, AnyTimeoutMarksTheClientBroken) {
  {
    ScriptedStub stub(with_handshake({{"Z0,1000,1", {}}, {"m1000,8", {"0011223344556677"}}}));
    Client c(stub.connection());
    ASSERT_TRUE(c.handshake(soon()).ok());
    EXPECT_FALSE(c.broken());
    Status s = c.insert_breakpoint(GuestAddr(0x1000), BreakpointKind::kSoftware, short_wait());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::kTimeout);
    EXPECT_TRUE(c.broken());
    auto m = c.read_memory(1, GuestAddr(0x1000), 8, soon());
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().kind, ErrorKind::kIo);
    EXPECT_NE(m.error().message.find("out of step since Z0,1000,1 timed out"), std::string::npos)
        << m.error().message;
    EXPECT_FALSE(c.resume({{1, Client::ThreadAction::kContinue}}, soon()).ok());
    EXPECT_FALSE(c.interrupt(soon()).ok());
    // Nothing after the request that timed out was sent.
    auto seen = stub.seen();
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back(), "Z0,1000,1");
  }
  {
    // An interrupt whose stop reply never comes.
    ScriptedStub stub(with_handshake({{"vCont;c:1", {}}, {"\x03", {}}}));
    Client c(stub.connection());
    ASSERT_TRUE(c.handshake(soon()).ok());
    ASSERT_TRUE(c.resume({{1, Client::ThreadAction::kContinue}}, soon()).ok());
    // A wait that times out leaves the target running: not broken.
    auto w = c.wait_stop(short_wait());
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().kind, ErrorKind::kTimeout);
    EXPECT_FALSE(c.broken());
    auto i = c.interrupt(short_wait());
    ASSERT_FALSE(i.ok());
    EXPECT_TRUE(c.broken());
    EXPECT_FALSE(c.wait_stop(soon()).ok());
  }
}

TEST(Client, WritesARegisterLittleEndian) {
  ScriptedStub stub(with_handshake({{"Hg2", {"OK"}}, {"P3=0100000000000000", {"OK"}}, {"Hg2", {"OK"}}, {"P4=ffffffff81000048", {"E22"}}}));
  Client c(stub.connection());
  ASSERT_TRUE(c.handshake(soon()).ok());
  EXPECT_TRUE(c.write_register(2, "rdx", 1, soon()).ok());
  Status bad = c.write_register(2, "rip", 0x48000081ffffffffull, soon());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("rip"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(c.write_register(2, "xmm0", 1, soon()).ok());
  expect_clean(stub);
}

TEST(Client, HandshakeRefusesAStubWithoutDescriptionOrVcont) {
  {
    ScriptedStub stub(std::vector<Exchange>{{"qSupported:xmlRegisters=i386;vContSupported+", {"PacketSize=1000"}}});
    Client c(stub.connection());
    Status s = c.handshake(soon());
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("target description"), std::string::npos);
  }
  {
    ScriptedStub stub(std::vector<Exchange>{{"qSupported:xmlRegisters=i386;vContSupported+", {"PacketSize=1000;qXfer:features:read+"}},
                       {"vCont?", {""}}});
    Client c(stub.connection());
    Status s = c.handshake(soon());
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("vCont"), std::string::npos);
  }
}

TEST(Client, ListsThreads) {
  ScriptedStub stub(with_handshake({Exchange{"qfThreadInfo", {"mp01.01"}}, Exchange{"qsThreadInfo", {"mp01.02"}},
                                    Exchange{"qsThreadInfo", {"l"}}}));
  Client c(stub.connection());
  ASSERT_TRUE(c.handshake(soon()).ok());
  auto t = c.threads(soon());
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(*t, (std::vector<int>{1, 2}));
  expect_clean(stub);
}

}  // namespace
}  // namespace racerig::gdbremote
