// libFuzzer target: what a gdbstub sends (rig/gdbremote's codec). The input
// is a byte stream as it arrives on the socket; it is fed to the
// production Decoder in pieces whose sizes come from the input's first
// byte, and every packet it yields goes through the parsers the client
// applies to replies: stop replies, thread ids, hex, registers and (for
// qXfer answers) target description XML.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rig/gdbremote/codec.h"

namespace gdb = racerig::gdbremote;

namespace {

// Everything the client would do with one packet's payload.
void parse_payload(std::string_view payload) {
  (void)gdb::parse_stop_reply(payload);
  (void)gdb::parse_thread_id(payload.size() > 2 && payload[0] == 'Q' && payload[1] == 'C' ? payload.substr(2)
                                                                                          : payload);
  (void)gdb::hex_decode(payload);
  (void)gdb::parse_hex(payload);
  (void)gdb::parse_le_register(payload);
  // A qXfer:features:read reply: 'l' or 'm' then the document.
  if (!payload.empty() && (payload[0] == 'l' || payload[0] == 'm')) (void)gdb::parse_target_xml(payload.substr(1));
  // What the client sends back is encoded by the same module: it must
  // decode to what went in.
  std::string packet = gdb::encode_packet(payload);
  gdb::Decoder echo;
  echo.feed(packet);
  auto frame = echo.next();
  if (!frame || frame->kind != gdb::Frame::Kind::kPacket || frame->payload != payload) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 64;  // how the bytes arrive: in reads of this size
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  gdb::Decoder decoder;
  for (size_t at = 0; at < stream.size(); at += chunk) {
    decoder.feed(stream.substr(at, chunk));
    while (auto frame = decoder.next())
      if (frame->kind == gdb::Frame::Kind::kPacket) parse_payload(frame->payload);
  }
  (void)gdb::decode_body(stream);
  return 0;
}
