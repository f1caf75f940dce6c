// The RSP wire format (see codec.h).
#include "rig/gdbremote/codec.h"

#include <cstdio>

namespace racerig::gdbremote {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kHex[] = "0123456789abcdef";

// Quotes at most 80 bytes of what a peer sent, with non-printables escaped.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > 80) out += "...";
  return out + "\"";
}

}  // namespace

uint8_t checksum(std::string_view body) {
  unsigned sum = 0;
  for (char c : body) sum += static_cast<unsigned char>(c);
  return static_cast<uint8_t>(sum & 0xff);
}

std::string encode_packet(std::string_view payload) {
  std::string body;
  body.reserve(payload.size() + 8);
  for (char c : payload) {
    if (c == '$' || c == '#' || c == '}' || c == '*') {
      body += '}';
      body += static_cast<char>(c ^ 0x20);
    } else {
      body += c;
    }
  }
  uint8_t cs = checksum(body);
  std::string out = "$" + body + "#";
  out += kHex[cs >> 4];
  out += kHex[cs & 0xf];
  return out;
}

Result<std::string> decode_body(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '}') {
      if (i + 1 >= body.size()) return make_error(ErrorKind::kProtocol, "packet ends inside an escape: " + quote(body));
      out += static_cast<char>(body[++i] ^ 0x20);
    } else if (c == '*') {
      if (out.empty() || i + 1 >= body.size())
        return make_error(ErrorKind::kProtocol, "run length with nothing to repeat: " + quote(body));
      int n = static_cast<unsigned char>(body[++i]) - 29;
      if (n < 3 || n > 97) return make_error(ErrorKind::kProtocol, "impossible run length in " + quote(body));
      out.append(static_cast<size_t>(n), out.back());
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<Frame> Decoder::next() {
  while (pos_ < buf_.size()) {
    char c = buf_[pos_];
    if (c == '+' || c == '-') {
      ++pos_;
      return Frame{c == '+' ? Frame::Kind::kAck : Frame::Kind::kNack, {}};
    }
    if (c != '$') {  // noise between frames
      ++pos_;
      continue;
    }
    size_t hash = buf_.find('#', pos_ + 1);
    if (hash == std::string::npos || hash + 2 >= buf_.size()) {
      if (buf_.size() - pos_ > kMaxPacket) {
        buf_.clear();
        pos_ = 0;
        return Frame{Frame::Kind::kBadPacket, "a packet longer than 1 MiB without its end"};
      }
      break;  // wait for more bytes
    }
    std::string_view body(buf_.data() + pos_ + 1, hash - pos_ - 1);
    int hi = hex_value(buf_[hash + 1]), lo = hex_value(buf_[hash + 2]);
    Frame frame;
    if (hi < 0 || lo < 0) {
      frame = {Frame::Kind::kBadPacket, "checksum is not hex in " + quote(std::string_view(buf_).substr(pos_, hash + 3 - pos_))};
    } else if (checksum(body) != hi * 16 + lo) {
      frame = {Frame::Kind::kBadPacket, "checksum mismatch in " + quote(std::string_view(buf_).substr(pos_, hash + 3 - pos_))};
    } else if (auto decoded = decode_body(body); !decoded.ok()) {
      frame = {Frame::Kind::kBadPacket, decoded.error().message};
    } else {
      frame = {Frame::Kind::kPacket, std::move(*decoded)};
    }
    pos_ = hash + 3;
    if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    return frame;
  }
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return std::nullopt;
}

std::string hex_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    unsigned char b = static_cast<unsigned char>(c);
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

Result<std::vector<uint8_t>> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return make_error(ErrorKind::kProtocol, "odd-length hex data " + quote(hex));
  std::vector<uint8_t> out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return make_error(ErrorKind::kProtocol, "not hex data: " + quote(hex));
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return out;
}

Result<uint64_t> parse_hex(std::string_view hex) {
  if (hex.empty() || hex.size() > 16) return make_error(ErrorKind::kProtocol, "not a hex number: " + quote(hex));
  uint64_t v = 0;
  for (char c : hex) {
    int d = hex_value(c);
    if (d < 0) return make_error(ErrorKind::kProtocol, "not a hex number: " + quote(hex));
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

Result<uint64_t> parse_le_register(std::string_view hex) {
  if (hex.find('x') != std::string_view::npos)
    return make_error(ErrorKind::kProtocol, "the stub says the register is unavailable (" + quote(hex) + ")");
  if (hex.empty() || hex.size() > 16)
    return make_error(ErrorKind::kProtocol, "a register value of unexpected size: " + quote(hex));
  RACERIG_ASSIGN(std::vector<uint8_t> bytes, hex_decode(hex));
  uint64_t v = 0;
  for (size_t i = bytes.size(); i-- > 0;) v = v << 8 | bytes[i];
  return v;
}

Result<int> parse_thread_id(std::string_view id) {
  if (!id.empty() && id[0] == 'p') {
    size_t dot = id.find('.');
    if (dot == std::string_view::npos) return make_error(ErrorKind::kProtocol, "thread id without a thread: " + quote(id));
    id = id.substr(dot + 1);
  }
  if (id == "-1") return -1;
  if (id.size() > 8) return make_error(ErrorKind::kProtocol, "thread id out of range: " + quote(id));
  RACERIG_ASSIGN(uint64_t v, parse_hex(id));
  return static_cast<int>(v);
}

Result<StopReply> parse_stop_reply(std::string_view p) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorKind::kProtocol, "not a stop reply (" + why + "): " + quote(p));
  };
  if (p.size() < 3) return bad("too short");
  StopReply r;
  RACERIG_ASSIGN(uint64_t code, parse_hex(p.substr(1, 2)));
  r.signal = static_cast<int>(code);
  switch (p[0]) {
    case 'S':
      return p.size() == 3 ? Result<StopReply>(r) : bad("trailing bytes");
    case 'W':
      r.kind = StopReply::Kind::kExited;
      return r;
    case 'X':
      r.kind = StopReply::Kind::kTerminated;
      return r;
    case 'T':
      break;
    default:
      return bad("unknown kind '" + std::string(1, p[0]) + "'");
  }
  std::string_view rest = p.substr(3);
  while (!rest.empty()) {
    size_t semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    if (pair.empty()) continue;
    size_t colon = pair.find(':');
    if (colon == std::string_view::npos) return bad("a field without ':'");
    std::string name(pair.substr(0, colon));
    std::string value(pair.substr(colon + 1));
    if (name == "thread") {
      RACERIG_ASSIGN(int t, parse_thread_id(value));
      r.thread = t;
    }
    r.fields[name] = value;
  }
  return r;
}

namespace {

// The value of attribute `name` inside one XML tag's text, if present.
std::optional<std::string> attribute(std::string_view tag, std::string_view name) {
  size_t pos = 0;
  while ((pos = tag.find(name, pos)) != std::string_view::npos) {
    bool starts = pos > 0 && (tag[pos - 1] == ' ' || tag[pos - 1] == '\t' || tag[pos - 1] == '\n');
    size_t after = pos + name.size();
    while (after < tag.size() && tag[after] == ' ') ++after;
    if (starts && after < tag.size() && tag[after] == '=') {
      ++after;
      while (after < tag.size() && tag[after] == ' ') ++after;
      if (after >= tag.size() || (tag[after] != '"' && tag[after] != '\'')) return std::nullopt;
      char q = tag[after];
      size_t end = tag.find(q, after + 1);
      if (end == std::string_view::npos) return std::nullopt;
      return std::string(tag.substr(after + 1, end - after - 1));
    }
    pos = after;
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<XmlItem>> parse_target_xml(std::string_view xml) {
  std::vector<XmlItem> items;
  size_t pos = 0;
  while ((pos = xml.find('<', pos)) != std::string_view::npos) {
    if (xml.substr(pos, 4) == "<!--") {
      size_t end = xml.find("-->", pos);
      if (end == std::string_view::npos) return make_error(ErrorKind::kProtocol, "target XML: unterminated comment");
      pos = end + 3;
      continue;
    }
    size_t end = xml.find('>', pos);
    if (end == std::string_view::npos) return make_error(ErrorKind::kProtocol, "target XML: unterminated tag");
    std::string_view tag = xml.substr(pos, end - pos + 1);
    pos = end + 1;
    auto is = [&](std::string_view name) {
      return tag.size() > name.size() + 1 && tag.substr(1, name.size()) == name &&
             (tag[name.size() + 1] == ' ' || tag[name.size() + 1] == '/' || tag[name.size() + 1] == '\n');
    };
    if (is("xi:include")) {
      auto href = attribute(tag, "href");
      if (!href || href->empty()) return make_error(ErrorKind::kProtocol, "target XML: include without href: " + quote(tag));
      items.push_back({*href, {}});
    } else if (is("reg")) {
      XmlItem item;
      auto name = attribute(tag, "name");
      auto bits = attribute(tag, "bitsize");
      if (!name || !bits) return make_error(ErrorKind::kProtocol, "target XML: reg without name or bitsize: " + quote(tag));
      item.reg.name = *name;
      auto parse_dec = [&](const std::string& s, int* out) {
        if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return false;
        *out = std::stoi(s);
        return true;
      };
      if (!parse_dec(*bits, &item.reg.bitsize)) return make_error(ErrorKind::kProtocol, "target XML: bad bitsize in " + quote(tag));
      if (auto num = attribute(tag, "regnum")) {
        if (!parse_dec(*num, &item.reg.regnum)) return make_error(ErrorKind::kProtocol, "target XML: bad regnum in " + quote(tag));
      }
      items.push_back(std::move(item));
    }
  }
  return items;
}

}  // namespace racerig::gdbremote
