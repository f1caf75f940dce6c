// The GDB remote serial protocol's wire format, with no I/O: packet framing
// ("$payload#cs"), checksums, the '}' escape and run-length decoding, acks,
// hex helpers, stop replies and target description XML. Everything a stub
// sends passes through here first, so nothing here trusts its input.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rig/base/result.h"

namespace racerig::gdbremote {

uint8_t checksum(std::string_view body);

// "$" + escaped payload + "#" + two hex digits. '$', '#', '}' and '*' are
// escaped so the stub never reads them as framing or run lengths.
std::string encode_packet(std::string_view payload);

// Undoes the '}' escape and expands "X*n" run lengths (n - 29 repeats).
Result<std::string> decode_body(std::string_view body);

// What arrives from the stub, one item at a time.
struct Frame {
  enum class Kind { kAck, kNack, kPacket, kBadPacket };
  Kind kind = Kind::kPacket;
  std::string payload;  // kPacket: the decoded payload; kBadPacket: why
};

// Incremental decoder: feed bytes as they arrive, take frames out. Bytes
// outside a frame other than '+'/'-' are skipped; an unterminated packet
// longer than kMaxPacket is dropped as kBadPacket so a babbling peer cannot
// grow the buffer without bound.
class Decoder {
 public:
  static constexpr size_t kMaxPacket = 1 << 20;
  void feed(std::string_view bytes) { buf_.append(bytes); }
  std::optional<Frame> next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
};

std::string hex_encode(std::string_view bytes);
Result<std::vector<uint8_t>> hex_decode(std::string_view hex);
// A big-endian hex number as in "Z0,ffffffff81000000,1" (at most 16 digits).
Result<uint64_t> parse_hex(std::string_view hex);
// A register value as the stub sends it: target byte order (little endian),
// at most 8 bytes. "xx" bytes (unavailable) are a kProtocol error.
Result<uint64_t> parse_le_register(std::string_view hex);

// A stop reply ("T05thread:01;", "S02", "W00", "X09").
struct StopReply {
  enum class Kind { kSignal, kExited, kTerminated };
  Kind kind = Kind::kSignal;
  int signal = 0;      // kSignal/kTerminated: the signal; kExited: exit code
  int thread = 0;      // 1-based thread (vCPU index + 1), 0 when absent
  std::map<std::string, std::string> fields;  // the "name:value;" pairs
};
// kProtocol error quoting the payload when it is not a stop reply.
Result<StopReply> parse_stop_reply(std::string_view payload);
// A thread id as in "01", "p01.02", "-1"; returns the thread (the part after
// the dot for multiprocess ids).
Result<int> parse_thread_id(std::string_view id);

// One register of a target description.
struct RegisterInfo {
  std::string name;
  int regnum = -1;  // -1: implicit (one more than the register before)
  int bitsize = 0;
};
// A target description document in order: <xi:include href=...> items (a
// non-empty `include`) and <reg> elements, as GDB reads them inline.
struct XmlItem {
  std::string include;
  RegisterInfo reg;
};
Result<std::vector<XmlItem>> parse_target_xml(std::string_view xml);

}  // namespace racerig::gdbremote
