// QMP wire format and client (see qmp.h).
#include "rig/qmp/qmp.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "rig/base/unix_socket.h"

namespace racerig::qmp {

namespace {

using nlohmann::json;

std::string quote_start(std::string_view text) {
  return "\"" + std::string(text.substr(0, 120)) + (text.size() > 120 ? "...\"" : "\"");
}

// QMP's own strings: "class" and "desc" of an error, or the event's name.
std::string string_member(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "?";
}

}  // namespace

Result<Message> decode_message(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return make_error(ErrorKind::kProtocol, "QMP sent " + why + ": " + quote_start(text));
  };
  if (j.is_discarded()) return bad("something that is not JSON");
  if (!j.is_object()) return bad("JSON that is not an object");
  Message m;
  if (auto id = j.find("id"); id != j.end()) m.id = *id;
  if (auto r = j.find("return"); r != j.end()) {
    m.kind = Message::Kind::kReturn;
    m.value = *r;
    return m;
  }
  if (auto e = j.find("error"); e != j.end()) {
    if (!e->is_object()) return bad("an error that is not an object");
    m.kind = Message::Kind::kError;
    m.text = string_member(*e, "class") + ": " + string_member(*e, "desc");
    return m;
  }
  if (auto ev = j.find("event"); ev != j.end()) {
    if (!ev->is_string()) return bad("an event without a name");
    m.kind = Message::Kind::kEvent;
    m.text = ev->get<std::string>();
    if (auto d = j.find("data"); d != j.end()) m.value = *d;
    return m;
  }
  if (auto g = j.find("QMP"); g != j.end()) {
    m.kind = Message::Kind::kGreeting;
    m.value = *g;
    return m;
  }
  return bad("an object that is none of QMP's messages");
}

std::string encode_request(std::string_view command, const json& arguments, uint64_t id) {
  json request = {{"execute", std::string(command)}, {"id", id}};
  if (!arguments.is_null()) request["arguments"] = arguments;
  // Invalid UTF-8 in a string is replaced instead of throwing.
  return request.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string json_quote(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> json_string(std::string_view literal) {
  json j = json::parse(literal, nullptr, /*allow_exceptions=*/false);
  if (!j.is_string()) return std::nullopt;
  return j.get<std::string>();
}

Result<Client> Client::connect(const std::string& path, Deadline deadline) {
  auto address = unix_address(path);
  if (!address.ok()) return make_error(ErrorKind::kInput, "QMP " + address.error().message);
  sockaddr_un addr = *address;
  while (true) {
    ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) return errno_error("socket");
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      auto c = over(std::move(fd), deadline);
      if (!c.ok()) return c.error().wrap("QMP at " + path);
      return c;
    }
    int err = errno;
    if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN)
      return make_error(ErrorKind::kIo, "connecting to QMP at " + path + ": " + std::strerror(err));
    if (deadline.expired()) return make_error(ErrorKind::kTimeout, "QMP at " + path + " did not come up in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<Client> Client::over(ScopedFd fd, Deadline deadline) {
  Client c(std::move(fd));
  RACERIG_ASSIGN(Message greeting, c.read_message(deadline));
  if (greeting.kind != Message::Kind::kGreeting)
    return make_error(ErrorKind::kProtocol, "QMP did not greet (its first message was not {\"QMP\": ...})");
  RACERIG_TRY(c.execute("qmp_capabilities", "", deadline));
  return c;
}

Error Client::fail(Error error) {
  if (broken_.empty()) broken_ = error.message;
  return error;
}

Result<Message> Client::read_message(Deadline deadline) {
  while (true) {
    if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      auto m = decode_message(line);
      if (!m.ok()) return fail(m.error());
      return m;
    }
    if (buffer_.size() > kMaxMessage)
      return fail(make_error(ErrorKind::kProtocol, "QMP sent a line of more than " + std::to_string(kMaxMessage) +
                                                       " bytes without a newline"));
    if (!fd_.valid()) return make_error(ErrorKind::kIo, "the QMP connection is closed");
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, deadline.poll_timeout_ms());
    if (r < 0 && errno != EINTR) return fail(errno_error("poll on QMP"));
    if (r <= 0) {
      if (deadline.expired()) return make_error(ErrorKind::kTimeout, "QMP did not answer in time");
      continue;
    }
    char buf[65536];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return fail(make_error(ErrorKind::kIo, "QEMU closed the QMP connection"));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return fail(errno_error("reading QMP"));
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

Status Client::send_all(const std::string& bytes, std::string_view command, Deadline deadline) {
  std::string_view rest = bytes;
  while (!rest.empty()) {
    ssize_t n = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      rest.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      if (deadline.expired()) return make_error(ErrorKind::kTimeout, "QMP did not take " + std::string(command));
      pollfd p{fd_.get(), POLLOUT, 0};
      (void)::poll(&p, 1, deadline.poll_timeout_ms());
      continue;
    }
    return make_error(ErrorKind::kIo, "sending " + std::string(command) + " to QMP: " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<std::string> Client::execute(std::string_view command, std::string_view args_json, Deadline deadline) {
  const std::string name(command);
  if (!broken_.empty()) return make_error(ErrorKind::kIo, "QMP " + name + ": the connection is unusable: " + broken_);
  if (!fd_.valid()) return make_error(ErrorKind::kIo, "QMP " + name + ": the connection is closed");
  json args;
  if (!args_json.empty()) {
    args = json::parse(args_json, nullptr, /*allow_exceptions=*/false);
    if (!args.is_object())
      return make_error(ErrorKind::kInternal, "QMP " + name + ": arguments are not a JSON object: " + quote_start(args_json));
  }
  const uint64_t id = next_id_++;
  if (Status s = send_all(encode_request(command, args, id), command, deadline); !s.ok())
    return fail(s.error().wrap("QMP " + name));
  while (true) {
    auto m = read_message(deadline);
    if (!m.ok()) {
      // A reply may still come: it must never answer a later command.
      if (m.error().kind == ErrorKind::kTimeout)
        return fail(make_error(ErrorKind::kTimeout, "QMP " + name + " got no reply in time (request id " +
                                                        std::to_string(id) + ")"));
      return m.error().wrap("QMP " + name);
    }
    switch (m->kind) {
      case Message::Kind::kEvent: events_.push_back(m->text); continue;
      case Message::Kind::kGreeting: continue;
      case Message::Kind::kReturn:
      case Message::Kind::kError: break;
    }
    if (!m->id || *m->id != json(id)) {
      // QEMU answers a request it could not parse without an id: ours are
      // well-formed, so such a reply is a peer we do not understand.
      if (!m->id) return fail(make_error(ErrorKind::kProtocol, "QMP " + name + ": a reply without an id: " + m->text));
      continue;  // the late answer to an earlier command
    }
    if (m->kind == Message::Kind::kError) return make_error(ErrorKind::kProtocol, "QMP " + name + " failed: " + m->text);
    return m->value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

}  // namespace racerig::qmp
