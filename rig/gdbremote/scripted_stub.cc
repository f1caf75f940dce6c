// The scripted gdbstub (see scripted_stub.h).
#include "rig/gdbremote/scripted_stub.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rig/gdbremote/codec.h"

namespace racerig::gdbremote::testing {

ScriptedStub::ScriptedStub(std::vector<Exchange> script) : script_(std::move(script)) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0) {
    mine_.reset(fds[0]);
    theirs_.reset(fds[1]);
  }
  thread_ = std::thread([this] { serve(); });
}

ScriptedStub::~ScriptedStub() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

Connection ScriptedStub::connection() { return Connection::adopt(std::move(theirs_)); }

std::vector<std::string> ScriptedStub::problems() {
  std::lock_guard<std::mutex> lock(mu_);
  return problems_;
}

std::vector<std::string> ScriptedStub::seen() {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

void ScriptedStub::send_frame(const std::string& bytes) {
  if (mine_.valid()) (void)::send(mine_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

void ScriptedStub::serve() {
  Decoder decoder;
  bool nacked = false;
  while (!stop_ && mine_.valid()) {
    pollfd p{mine_.get(), POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buf[8192];
    ssize_t n = ::recv(mine_.get(), buf, sizeof buf, 0);
    if (n <= 0) return;
    std::vector<std::string> requests;
    std::string bytes;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\x03') {
        requests.push_back("\x03");
      } else {
        bytes += buf[i];
      }
    }
    decoder.feed(bytes);
    while (auto f = decoder.next()) {
      if (f->kind == Frame::Kind::kPacket) requests.push_back(f->payload);
      if (f->kind == Frame::Kind::kBadPacket) {
        std::lock_guard<std::mutex> lock(mu_);
        problems_.push_back("the client sent a bad frame: " + f->payload);
      }
    }
    for (const std::string& req : requests) {
      size_t i = next_;
      if (i >= script_.size()) {
        std::lock_guard<std::mutex> lock(mu_);
        problems_.push_back("unscripted request \"" + req + "\"");
        continue;
      }
      const Exchange& ex = script_[i];
      if (req != "\x03") {
        if (ex.nack_once && !nacked) {
          nacked = true;
          send_frame("-");
          continue;
        }
        send_frame("+");
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back(req);
        if (req != ex.expect) problems_.push_back("expected \"" + ex.expect + "\", got \"" + req + "\"");
      }
      next_ = i + 1;
      if (ex.hang_up) {
        mine_.reset();
        return;
      }
      if (!ex.raw.empty()) send_frame(ex.raw);
      for (const std::string& reply : ex.replies) send_frame(encode_packet(reply));
    }
  }
}

}  // namespace racerig::gdbremote::testing
