// QMP and line framing (see qmp.h).
#include "rig/qemu/qmp.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace racerig::vm {

void LineBuffer::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (c == '\r') continue;
    if (c == '\n') {
      lines_.push_back(std::move(partial_));
      partial_.clear();
      continue;
    }
    partial_ += c;
    if (partial_.size() >= kMaxLine) {
      lines_.push_back(std::move(partial_));
      partial_.clear();
    }
  }
}

std::vector<std::string> LineBuffer::take_lines() {
  std::vector<std::string> out;
  out.swap(lines_);
  return out;
}

namespace {

// Skips one JSON value starting at `i` (after whitespace); returns the index
// after it, or npos when the text is malformed.
size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

size_t skip_string(std::string_view s, size_t i) {
  if (i >= s.size() || s[i] != '"') return std::string_view::npos;
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

size_t skip_value(std::string_view s, size_t i) {
  i = skip_ws(s, i);
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  // number, true, false, null
  size_t start = i;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ') ++i;
  return i > start ? i : std::string_view::npos;
}

}  // namespace

std::optional<std::string> json_member(std::string_view o, std::string_view key) {
  size_t i = skip_ws(o, 0);
  if (i >= o.size() || o[i] != '{') return std::nullopt;
  i = skip_ws(o, i + 1);
  if (i < o.size() && o[i] == '}') return std::nullopt;
  while (i < o.size()) {
    size_t kend = skip_string(o, i);
    if (kend == std::string_view::npos) return std::nullopt;
    auto k = json_string(o.substr(i, kend - i));
    i = skip_ws(o, kend);
    if (i >= o.size() || o[i] != ':') return std::nullopt;
    size_t vstart = skip_ws(o, i + 1);
    size_t vend = skip_value(o, vstart);
    if (vend == std::string_view::npos) return std::nullopt;
    if (k && *k == key) return std::string(o.substr(vstart, vend - vstart));
    i = skip_ws(o, vend);
    if (i >= o.size()) return std::nullopt;
    if (o[i] == '}') return std::nullopt;
    if (o[i] != ',') return std::nullopt;
    i = skip_ws(o, i + 1);
  }
  return std::nullopt;
}

std::optional<std::string> json_string(std::string_view lit) {
  if (lit.size() < 2 || lit.front() != '"' || lit.back() != '"') return std::nullopt;
  std::string out;
  for (size_t i = 1; i + 1 < lit.size(); ++i) {
    char c = lit[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i + 1 > lit.size() - 1) return std::nullopt;
    switch (lit[i]) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        if (i + 4 >= lit.size()) return std::nullopt;
        unsigned v = 0;
        for (int k = 1; k <= 4; ++k) {
          char h = lit[i + k];
          v <<= 4;
          if (h >= '0' && h <= '9') v |= h - '0';
          else if (h >= 'a' && h <= 'f') v |= h - 'a' + 10;
          else if (h >= 'A' && h <= 'F') v |= h - 'A' + 10;
          else return std::nullopt;
        }
        i += 4;
        out += v < 0x80 ? static_cast<char>(v) : '?';
        break;
      }
      default: out += lit[i]; break;
    }
  }
  return out;
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Result<QmpMessage> classify_qmp_line(std::string_view line) {
  auto bad = [&] {
    return make_error(ErrorKind::kProtocol, "QMP sent something unexpected: \"" + std::string(line.substr(0, 120)) + "\"");
  };
  if (auto r = json_member(line, "return")) return QmpMessage{QmpMessage::Kind::kReturn, *r};
  if (auto e = json_member(line, "error")) {
    auto cls = json_member(*e, "class");
    auto desc = json_member(*e, "desc");
    std::string text = (cls ? json_string(*cls).value_or(*cls) : "?") + ": " +
                       (desc ? json_string(*desc).value_or(*desc) : *e);
    return QmpMessage{QmpMessage::Kind::kError, text};
  }
  if (auto ev = json_member(line, "event")) return QmpMessage{QmpMessage::Kind::kEvent, json_string(*ev).value_or(*ev)};
  if (auto g = json_member(line, "QMP")) return QmpMessage{QmpMessage::Kind::kGreeting, *g};
  return bad();
}

Result<QmpClient> QmpClient::connect(const std::string& path, Deadline deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error(ErrorKind::kInput, "QMP socket path too long: " + path);
  std::memcpy(addr.sun_path, path.data(), path.size());
  while (true) {
    ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) return errno_error("socket");
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      QmpClient c(std::move(fd));
      RACERIG_ASSIGN(QmpMessage greeting, c.read_message(deadline));
      if (greeting.kind != QmpMessage::Kind::kGreeting)
        return make_error(ErrorKind::kProtocol, "QMP at " + path + " did not greet");
      RACERIG_TRY(c.execute("qmp_capabilities", "", deadline));
      return c;
    }
    int err = errno;
    if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN)
      return make_error(ErrorKind::kIo, "connecting to QMP at " + path + ": " + std::strerror(err));
    if (deadline.expired()) return make_error(ErrorKind::kTimeout, "QMP at " + path + " did not come up in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<QmpMessage> QmpClient::read_message(Deadline deadline) {
  while (true) {
    if (!ready_.empty()) {
      std::string line = std::move(ready_.front());
      ready_.erase(ready_.begin());
      if (line.empty()) continue;
      return classify_qmp_line(line);
    }
    if (!fd_.valid()) return make_error(ErrorKind::kIo, "the QMP connection is closed");
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, deadline.poll_timeout_ms());
    if (r < 0 && errno != EINTR) return errno_error("poll on QMP");
    if (r <= 0) {
      if (deadline.expired()) return make_error(ErrorKind::kTimeout, "QMP did not answer in time");
      continue;
    }
    char buf[8192];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n == 0) return make_error(ErrorKind::kIo, "QEMU closed the QMP connection");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno_error("reading QMP");
    }
    lines_.feed(std::string_view(buf, static_cast<size_t>(n)));
    for (auto& l : lines_.take_lines()) ready_.push_back(std::move(l));
  }
}

Result<std::string> QmpClient::execute(std::string_view command, std::string_view args_json, Deadline deadline) {
  if (!fd_.valid()) return make_error(ErrorKind::kIo, "the QMP connection is closed");
  std::string req = "{\"execute\": " + json_quote(command);
  if (!args_json.empty()) req += ", \"arguments\": " + std::string(args_json);
  req += "}\n";
  std::string_view rest = req;
  while (!rest.empty()) {
    ssize_t n = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
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
  while (true) {
    RACERIG_ASSIGN(QmpMessage m, read_message(deadline));
    switch (m.kind) {
      case QmpMessage::Kind::kEvent: events_.push_back(m.text); continue;
      case QmpMessage::Kind::kGreeting: continue;
      case QmpMessage::Kind::kError:
        return make_error(ErrorKind::kProtocol, "QMP " + std::string(command) + " failed: " + m.text);
      case QmpMessage::Kind::kReturn: return m.text;
    }
  }
}

}  // namespace racerig::vm
