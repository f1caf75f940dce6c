// The typed RSP client (see client.h).
#include "rig/gdbremote/client.h"

#include <algorithm>
#include <cstdio>

namespace racerig::gdbremote {

namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

// "E14" → a readable error; anything else unexpected is quoted.
Error stub_error(std::string_view what, std::string_view reply) {
  std::string r(reply.substr(0, 60));
  if (reply.empty()) return make_error(ErrorKind::kProtocol, std::string(what) + ": the gdbstub does not support it (empty reply)");
  if (reply.size() == 3 && reply[0] == 'E') return make_error(ErrorKind::kProtocol, std::string(what) + ": the gdbstub answered error " + r);
  return make_error(ErrorKind::kProtocol, std::string(what) + ": unexpected reply \"" + r + "\"");
}

}  // namespace

Status Client::require_in_step(std::string_view what) const {
  if (broken_by_.empty()) return Status::Ok();
  return make_error(ErrorKind::kIo, std::string(what) + ": the gdbstub connection is out of step since " +
                                        broken_by_ + " timed out (a late reply would answer the wrong request)");
}

Status Client::require_stopped(std::string_view what) const {
  RACERIG_TRY(require_in_step(what));
  if (running_) return make_error(ErrorKind::kInternal, std::string(what) + " while the target runs");
  if (!conn_.is_open()) return make_error(ErrorKind::kIo, std::string(what) + ": the gdbstub connection is closed");
  return Status::Ok();
}

Result<std::string> Client::request(std::string_view payload, Deadline deadline) {
  RACERIG_TRY(require_in_step(payload.substr(0, 40)));
  RACERIG_TRY(note_timeout(conn_.send(payload, deadline), payload.substr(0, 40)));
  return note_timeout(conn_.receive(deadline), payload.substr(0, 40));
}

Status Client::expect_ok(std::string_view payload, std::string_view what, Deadline deadline) {
  RACERIG_TRY(require_stopped(what));
  RACERIG_ASSIGN(std::string reply, request(payload, deadline));
  if (reply != "OK") return stub_error(what, reply);
  return Status::Ok();
}

Result<std::string> Client::read_xfer(const std::string& annex, Deadline deadline) {
  std::string out;
  const size_t chunk = std::max<size_t>(256, max_packet_ - 5);
  for (int i = 0; i < 4096; ++i) {
    RACERIG_ASSIGN(std::string reply,
                   request("qXfer:features:read:" + annex + ":" + hex(out.size()) + "," + hex(chunk), deadline));
    if (reply.empty() || (reply[0] != 'm' && reply[0] != 'l')) return stub_error("reading " + annex, reply);
    out.append(reply, 1);
    if (reply[0] == 'l') return out;
    if (reply.size() == 1) return stub_error("reading " + annex + " (an empty 'm' chunk)", reply);
  }
  return make_error(ErrorKind::kProtocol, "reading " + annex + ": the description never ends");
}

Status Client::load_description(const std::string& annex, int depth, Deadline deadline) {
  if (depth > 4) return make_error(ErrorKind::kProtocol, "target description includes nest too deep at " + annex);
  RACERIG_ASSIGN(std::string xml, read_xfer(annex, deadline));
  RACERIG_ASSIGN(std::vector<XmlItem> items, parse_target_xml(xml));
  for (XmlItem& item : items) {
    if (!item.include.empty()) {
      RACERIG_TRY(load_description(item.include, depth + 1, deadline));
      continue;
    }
    if (item.reg.regnum < 0) item.reg.regnum = registers_.empty() ? 0 : registers_.back().regnum + 1;
    registers_.push_back(std::move(item.reg));
  }
  return Status::Ok();
}

Status Client::handshake(Deadline deadline) {
  running_ = false;
  RACERIG_ASSIGN(std::string features, request("qSupported:xmlRegisters=i386;vContSupported+", deadline));
  bool xfer = false;
  size_t pos = 0;
  while (pos <= features.size()) {
    size_t semi = features.find(';', pos);
    std::string f = features.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
    if (f == "qXfer:features:read+") xfer = true;
    if (f.rfind("PacketSize=", 0) == 0) {
      auto size = parse_hex(std::string_view(f).substr(11));
      if (size.ok() && *size >= 256 && *size <= (1u << 20)) max_packet_ = static_cast<size_t>(*size);
    }
    if (semi == std::string::npos) break;
    pos = semi + 1;
  }
  if (!xfer) return make_error(ErrorKind::kProtocol, "the gdbstub offers no target description (qSupported: \"" + features + "\")");
  RACERIG_ASSIGN(std::string vcont, request("vCont?", deadline));
  if (vcont.rfind("vCont", 0) != 0 || vcont.find(";c") == std::string::npos || vcont.find(";s") == std::string::npos)
    return stub_error("vCont? (per-vCPU resume is required)", vcont);
  registers_.clear();
  RACERIG_TRY(load_description("target.xml", 0, deadline));
  if (registers_.empty()) return make_error(ErrorKind::kProtocol, "the target description has no registers");
  RACERIG_ASSIGN(std::string why, request("?", deadline));
  RACERIG_ASSIGN(last_stop_, parse_stop_reply(why));
  return Status::Ok();
}

Status Client::insert_breakpoint(GuestAddr addr, BreakpointKind kind, Deadline deadline) {
  const char* z = kind == BreakpointKind::kSoftware ? "Z0," : "Z1,";
  return expect_ok(z + hex(addr.value()) + ",1", "inserting a breakpoint at " + addr.hex(), deadline);
}

Status Client::remove_breakpoint(GuestAddr addr, BreakpointKind kind, Deadline deadline) {
  const char* z = kind == BreakpointKind::kSoftware ? "z0," : "z1,";
  return expect_ok(z + hex(addr.value()) + ",1", "removing the breakpoint at " + addr.hex(), deadline);
}

Status Client::resume(const std::vector<ThreadAction>& actions, Deadline deadline) {
  RACERIG_TRY(require_stopped("resuming"));
  if (actions.empty()) return make_error(ErrorKind::kInternal, "resuming no thread");
  std::string packet = "vCont";
  for (const ThreadAction& a : actions) {
    if (a.thread <= 0) return make_error(ErrorKind::kInternal, "resuming thread " + std::to_string(a.thread));
    packet += a.kind == ThreadAction::kStep ? ";s:" : ";c:";
    packet += hex(static_cast<uint64_t>(a.thread));
  }
  RACERIG_TRY(note_timeout(conn_.send(packet, deadline), packet));
  running_ = true;
  return Status::Ok();
}

Result<WaitResult> Client::read_stop(Deadline deadline, int wake_fd) {
  while (true) {
    auto got = conn_.receive_or_wake(deadline, wake_fd);
    if (!got.ok()) return got.error();
    if (got->woken) return WaitResult{true, {}};
    const std::string& packet = got->packet;
    if (!packet.empty() && packet.front() == 'O' && packet.size() % 2 == 1) continue;  // console output
    RACERIG_ASSIGN(StopReply stop, parse_stop_reply(packet));
    running_ = false;
    last_stop_ = stop;
    return WaitResult{false, std::move(stop)};
  }
}

Result<WaitResult> Client::wait_stop(Deadline deadline, int wake_fd) {
  RACERIG_TRY(require_in_step("waiting for a stop"));
  if (!running_) return make_error(ErrorKind::kInternal, "waiting for a stop while the target is stopped");
  return read_stop(deadline, wake_fd);
}

Result<StopReply> Client::interrupt(Deadline deadline) {
  RACERIG_TRY(require_in_step("interrupting"));
  if (!running_) return last_stop_;
  RACERIG_TRY(note_timeout(conn_.send_interrupt(deadline), "the interrupt"));
  RACERIG_ASSIGN(WaitResult r, note_timeout(read_stop(deadline, -1), "the interrupt's stop reply"));
  return r.stop;
}

Result<StopReply> Client::step(int thread, Deadline deadline) {
  RACERIG_TRY(resume({{thread, ThreadAction::kStep}}, deadline));
  RACERIG_ASSIGN(WaitResult r, note_timeout(read_stop(deadline, -1), "a single step's stop reply"));
  return r.stop;
}

Status Client::select_thread(int thread, Deadline deadline) {
  if (thread <= 0) return make_error(ErrorKind::kInternal, "selecting thread " + std::to_string(thread));
  return expect_ok("Hg" + hex(static_cast<uint64_t>(thread)), "selecting thread " + std::to_string(thread), deadline);
}

Result<uint64_t> Client::read_register(int thread, std::string_view name, Deadline deadline) {
  auto it = std::find_if(registers_.begin(), registers_.end(), [&](const RegisterInfo& r) { return r.name == name; });
  if (it == registers_.end()) return make_error(ErrorKind::kInput, "the target has no register named \"" + std::string(name) + "\"");
  if (it->bitsize > 64) return make_error(ErrorKind::kInput, "register " + it->name + " is wider than 64 bits");
  RACERIG_TRY(require_stopped("reading " + it->name));
  RACERIG_TRY(select_thread(thread, deadline));
  RACERIG_ASSIGN(std::string reply, request("p" + hex(static_cast<uint64_t>(it->regnum)), deadline));
  if (reply.size() != static_cast<size_t>(it->bitsize / 4))
    return stub_error("reading register " + it->name + " of thread " + std::to_string(thread), reply);
  return parse_le_register(reply);
}

Status Client::write_register(int thread, std::string_view name, uint64_t value, Deadline deadline) {
  auto it = std::find_if(registers_.begin(), registers_.end(), [&](const RegisterInfo& r) { return r.name == name; });
  if (it == registers_.end())
    return make_error(ErrorKind::kInput, "the target has no register named \"" + std::string(name) + "\"");
  if (it->bitsize > 64 || it->bitsize % 8 != 0)
    return make_error(ErrorKind::kInput, "register " + it->name + " is not a 8-64 bit register");
  RACERIG_TRY(require_stopped("writing " + it->name));
  RACERIG_TRY(select_thread(thread, deadline));
  static const char kDigits[] = "0123456789abcdef";
  std::string le;
  for (int i = 0; i < it->bitsize / 8; ++i) {
    const auto byte = static_cast<uint8_t>(value >> (8 * i));
    le += kDigits[byte >> 4];
    le += kDigits[byte & 0xf];
  }
  return expect_ok("P" + hex(static_cast<uint64_t>(it->regnum)) + "=" + le,
                   "writing register " + it->name + " of thread " + std::to_string(thread), deadline);
}

Result<std::vector<uint8_t>> Client::read_memory(int thread, GuestAddr addr, size_t len, Deadline deadline) {
  RACERIG_TRY(require_stopped("reading memory"));
  RACERIG_TRY(select_thread(thread, deadline));
  std::vector<uint8_t> out;
  out.reserve(len);
  const size_t chunk = std::max<size_t>(16, (max_packet_ - 8) / 2);
  while (out.size() < len) {
    size_t n = std::min(chunk, len - out.size());
    GuestAddr at = addr + static_cast<int64_t>(out.size());
    RACERIG_ASSIGN(std::string reply, request("m" + hex(at.value()) + "," + hex(n), deadline));
    if (reply.size() == 3 && reply[0] == 'E')
      return make_error(ErrorKind::kProtocol, "reading " + std::to_string(n) + " bytes at " + at.hex() + ": the guest has no such mapping (" + reply + ")");
    if (reply.size() != n * 2) return stub_error("reading memory at " + at.hex(), reply);
    RACERIG_ASSIGN(std::vector<uint8_t> bytes, hex_decode(reply));
    out.insert(out.end(), bytes.begin(), bytes.end());
  }
  return out;
}

Result<std::vector<int>> Client::threads(Deadline deadline) {
  RACERIG_TRY(require_stopped("listing threads"));
  std::vector<int> out;
  std::string q = "qfThreadInfo";
  for (int i = 0; i < 1024; ++i) {
    RACERIG_ASSIGN(std::string reply, request(q, deadline));
    if (reply == "l") return out;
    if (reply.empty() || reply[0] != 'm') return stub_error("listing threads", reply);
    std::string_view ids(reply);
    ids.remove_prefix(1);
    while (!ids.empty()) {
      size_t comma = ids.find(',');
      RACERIG_ASSIGN(int t, parse_thread_id(ids.substr(0, comma)));
      out.push_back(t);
      ids = comma == std::string_view::npos ? std::string_view() : ids.substr(comma + 1);
    }
    q = "qsThreadInfo";
  }
  return make_error(ErrorKind::kProtocol, "the thread list never ends");
}

}  // namespace racerig::gdbremote
