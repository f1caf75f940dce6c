// QEMU's machine protocol (QMP) over a UNIX socket, and the line framing it
// shares with the serial consoles. The framing and message classification are
// plain functions so they can be tested without QEMU; QmpClient adds the socket.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/base/scoped_fd.h"

namespace racerig::vm {

// Splits a byte stream into lines: "\n" ends a line, "\r" is dropped. A line
// longer than kMaxLine is cut there so a peer without newlines cannot grow
// memory without bound.
class LineBuffer {
 public:
  static constexpr size_t kMaxLine = 64 * 1024;
  void feed(std::string_view bytes);
  std::vector<std::string> take_lines();
  const std::string& partial() const { return partial_; }
  // Forgets everything, the unfinished line included.
  void clear() {
    partial_.clear();
    lines_.clear();
  }

 private:
  std::string partial_;
  std::vector<std::string> lines_;
};

// The raw JSON text of top-level member `key` of a JSON object, if present.
// Strings, nesting and escapes are honoured; malformed text gives nullopt.
std::optional<std::string> json_member(std::string_view object, std::string_view key);
// The value of a JSON string literal (with its quotes), escapes undone.
std::optional<std::string> json_string(std::string_view literal);
// A string as a JSON literal.
std::string json_quote(std::string_view s);

struct QmpMessage {
  enum class Kind { kGreeting, kReturn, kError, kEvent };
  Kind kind = Kind::kReturn;
  std::string text;  // kReturn: the raw "return" JSON; kError: class: desc; kEvent: the event name
};
// kProtocol error quoting the line when it is none of QMP's messages.
Result<QmpMessage> classify_qmp_line(std::string_view line);

class QmpClient {
 public:
  // Connects (retrying while the socket does not exist yet), reads the
  // greeting and negotiates capabilities.
  static Result<QmpClient> connect(const std::string& path, Deadline deadline);
  // Runs a command; args_json is an object ("{...}") or empty. Returns the
  // raw "return" JSON; a QMP error is kProtocol with QEMU's class and desc.
  // Events that arrive meanwhile are kept in events().
  Result<std::string> execute(std::string_view command, std::string_view args_json, Deadline deadline);
  const std::vector<std::string>& events() const { return events_; }
  void close() { fd_.reset(); }

 private:
  explicit QmpClient(ScopedFd fd) : fd_(std::move(fd)) {}
  Result<QmpMessage> read_message(Deadline deadline);

  ScopedFd fd_;
  LineBuffer lines_;
  std::vector<std::string> ready_;
  std::vector<std::string> events_;
};

}  // namespace racerig::vm
