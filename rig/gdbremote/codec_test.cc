// The RSP wire format against bytes QEMU 7.2's gdbstub really sends.
#include "rig/gdbremote/codec.h"

#include <gtest/gtest.h>

namespace racerig::gdbremote {
namespace {

std::vector<Frame> decode_all(std::string_view bytes) {
  Decoder d;
  d.feed(bytes);
  std::vector<Frame> out;
  while (auto f = d.next()) out.push_back(*f);
  return out;
}

TEST(Codec, EncodesWithChecksumsGdbComputes) {
  // Checksums as gdb printed them with "set debug remote 1" against QEMU.
  EXPECT_EQ(encode_packet("vMustReplyEmpty"), "$vMustReplyEmpty#3a");
  EXPECT_EQ(encode_packet("Z0,fe05b,1"), "$Z0,fe05b,1#a5");
  EXPECT_EQ(encode_packet("?"), "$?#3f");
  EXPECT_EQ(encode_packet("qXfer:features:read:target.xml:0,ffb"), "$qXfer:features:read:target.xml:0,ffb#79");
}

TEST(Codec, EscapesFramingCharacters) {
  std::string framed = encode_packet("a$b#c}d*e");
  EXPECT_EQ(framed.substr(0, 14), "$a}\x04" "b}\x03" "c}]d}\x0a" "e");
  auto frames = decode_all(framed);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, "a$b#c}d*e");
}

TEST(Codec, ExpandsRunLengths) {
  // "0* " is '0' and 32 - 29 = 3 more: four zeros.
  auto d = decode_body("0* 1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "00001");
  EXPECT_FALSE(decode_body("*!").ok());   // nothing to repeat
  EXPECT_FALSE(decode_body("ab}").ok());  // ends in an escape
  EXPECT_FALSE(decode_body("a*").ok());   // no count
}

TEST(Codec, SplitsAcksPacketsAndNoise) {
  std::string bytes = "+" + encode_packet("T05thread:01;") + "junk-" + encode_packet("OK");
  auto frames = decode_all(bytes);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0].kind, Frame::Kind::kAck);
  EXPECT_EQ(frames[1].payload, "T05thread:01;");
  EXPECT_EQ(frames[2].kind, Frame::Kind::kNack);
  EXPECT_EQ(frames[3].payload, "OK");
}

TEST(Codec, WaitsForPartialPacketsByteByByte) {
  std::string framed = encode_packet("T05thread:p01.02;");
  Decoder d;
  for (size_t i = 0; i + 1 < framed.size(); ++i) {
    d.feed(framed.substr(i, 1));
    EXPECT_FALSE(d.next().has_value()) << "at byte " << i;
  }
  d.feed(framed.substr(framed.size() - 1));
  auto f = d.next();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->payload, "T05thread:p01.02;");
}

TEST(Codec, ReportsBadChecksumsAndKeepsGoing) {
  auto frames = decode_all("$OK#00$OK#zz" + encode_packet("OK"));
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].kind, Frame::Kind::kBadPacket);
  EXPECT_NE(frames[0].payload.find("checksum mismatch"), std::string::npos);
  EXPECT_EQ(frames[1].kind, Frame::Kind::kBadPacket);
  EXPECT_EQ(frames[2].payload, "OK");
}

TEST(Codec, DropsAnEndlessPacket) {
  Decoder d;
  d.feed("$");
  d.feed(std::string(Decoder::kMaxPacket + 10, 'a'));
  auto f = d.next();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, Frame::Kind::kBadPacket);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(Codec, ParsesQemuStopReplies) {
  auto a = parse_stop_reply("T05thread:01;");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, StopReply::Kind::kSignal);
  EXPECT_EQ(a->signal, 5);
  EXPECT_EQ(a->thread, 1);
  auto b = parse_stop_reply("T02thread:p01.02;");  // multiprocess form
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->signal, 2);
  EXPECT_EQ(b->thread, 2);
  auto w = parse_stop_reply("T05thread:02;watch:ffffffff81000000;");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->fields.at("watch"), "ffffffff81000000");
  auto x = parse_stop_reply("W00");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->kind, StopReply::Kind::kExited);
  auto s = parse_stop_reply("S05");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->thread, 0);
}

TEST(Codec, RejectsOddStopReplies) {
  for (const char* bad : {"", "OK", "T5", "Tzzthread:01;", "T05thread", "T05thread:zz;", "Q05", "S05x"}) {
    auto r = parse_stop_reply(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind, ErrorKind::kProtocol);
    }
  }
}

TEST(Codec, HexHelpers) {
  EXPECT_EQ(hex_encode(std::string("\x00\xff\x10", 3)), "00ff10");
  auto bytes = hex_decode("ea5be000");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, (std::vector<uint8_t>{0xea, 0x5b, 0xe0, 0x00}));
  EXPECT_FALSE(hex_decode("abc").ok());
  EXPECT_FALSE(hex_decode("zz").ok());
  // rip as QEMU's 'g' packet held it at the reset vector: 0xfff0 LE.
  auto rip = parse_le_register("f0ff000000000000");
  ASSERT_TRUE(rip.ok());
  EXPECT_EQ(*rip, 0xfff0u);
  EXPECT_FALSE(parse_le_register("xxxxxxxxxxxxxxxx").ok());
  EXPECT_FALSE(parse_le_register("00112233445566778899").ok());
  EXPECT_FALSE(parse_hex("12345678123456789").ok());
}

TEST(Codec, ParsesTargetDescriptionsInOrder) {
  // QEMU 7.2's top-level description, verbatim, and a part of i386-64bit.xml.
  auto top = parse_target_xml(
      "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\"><target><architecture>i386:x86-64"
      "</architecture><xi:include href=\"i386-64bit.xml\"/></target>");
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ((*top)[0].include, "i386-64bit.xml");
  auto regs = parse_target_xml(
      "<!-- <reg name=\"commented\" bitsize=\"8\"/> -->\n"
      "  <reg name=\"rax\" bitsize=\"64\" type=\"int64\"/>\n"
      "  <reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n"
      "  <reg name=\"eflags\" bitsize=\"32\" type=\"x64_eflags\"/>\n"
      "  <reg name=\"fs_base\" bitsize=\"64\" type=\"int64\" regnum=\"40\"/>\n"
      "  <flags id=\"x64_eflags\" size=\"4\"><field name=\"CF\" start=\"0\" end=\"0\"/></flags>\n");
  ASSERT_TRUE(regs.ok());
  ASSERT_EQ(regs->size(), 4u);
  EXPECT_EQ((*regs)[0].reg.name, "rax");
  EXPECT_EQ((*regs)[0].reg.regnum, -1);
  EXPECT_EQ((*regs)[2].reg.bitsize, 32);
  EXPECT_EQ((*regs)[3].reg.regnum, 40);
  EXPECT_FALSE(parse_target_xml("<reg name=\"a\"/>").ok());
  EXPECT_FALSE(parse_target_xml("<reg name=\"a\" bitsize=\"x\"/>").ok());
  EXPECT_FALSE(parse_target_xml("<reg name=\"a\" bitsize=\"8\"").ok());
  EXPECT_FALSE(parse_target_xml("<xi:include/>").ok());
}

}  // namespace
}  // namespace racerig::gdbremote
