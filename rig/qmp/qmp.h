// QEMU's machine protocol (QMP) over a UNIX socket: the wire format (one
// JSON object per line, parsed with nlohmann-json) and a client that tags
// every command with an id, takes only the reply carrying that id as its
// answer, keeps asynchronous events apart, and stops using a connection on
// which a command timed out. The codec functions are plain so they can be
// tested without QEMU; Client adds the socket. Both VM backends use it: the
// direct QEMU on its -qmp socket, libvirt's domains on the QMP socket their
// XML adds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/base/scoped_fd.h"

namespace racerig::qmp {

// One message from QEMU.
struct Message {
  enum class Kind { kGreeting, kReturn, kError, kEvent };
  Kind kind = Kind::kReturn;
  std::optional<nlohmann::json> id;  // the request's id, echoed in its reply
  nlohmann::json value;              // kReturn: "return"; kGreeting: "QMP"; kEvent: "data" (or null)
  std::string text;                  // kError: "Class: desc"; kEvent: the event name
};

// Decodes one message (one line without its newline). Anything that is not
// a JSON object of one of QMP's four shapes is a kProtocol error quoting the
// start of the text.
Result<Message> decode_message(std::string_view text);

// The request line (newline included) for `command` with `arguments` (an
// object, or null for none) and `id`.
std::string encode_request(std::string_view command, const nlohmann::json& arguments, uint64_t id);

// A string as a JSON literal (UTF-8 kept as is, control bytes escaped).
std::string json_quote(std::string_view s);
// The value of a JSON string literal (with its quotes), escapes undone
// (\u00e9 becomes UTF-8 "é"); nullopt when the text is not one.
std::optional<std::string> json_string(std::string_view literal);

class Client {
 public:
  // A line longer than this is a broken peer, not a message.
  static constexpr size_t kMaxMessage = 64 * 1024 * 1024;

  // Connects (retrying while the socket does not exist yet or refuses),
  // reads the greeting and negotiates capabilities, all before `deadline`.
  static Result<Client> connect(const std::string& path, Deadline deadline);
  // The same handshake over an already connected stream socket (tests).
  static Result<Client> over(ScopedFd fd, Deadline deadline);

  // Runs a command and waits for the reply with its id. `args_json` is a
  // JSON object text or empty. Returns the reply's "return" value as JSON
  // text; a QMP error reply is kProtocol with QEMU's class and desc.
  // Replies with another id (answers to commands that timed out) and
  // events are set aside, never taken as this command's answer. After a
  // timeout, a closed socket or garbage, the connection is broken: this
  // and every later call fail at once with the reason.
  Result<std::string> execute(std::string_view command, std::string_view args_json, Deadline deadline);
  // Names of the events received so far, in order.
  const std::vector<std::string>& events() const { return events_; }
  // Why the connection is unusable (empty while it is usable).
  const std::string& broken() const { return broken_; }
  void close() { fd_.reset(); }

 private:
  explicit Client(ScopedFd fd) : fd_(std::move(fd)) {}
  Result<Message> read_message(Deadline deadline);
  Status send_all(const std::string& bytes, std::string_view command, Deadline deadline);
  Error fail(Error error);  // marks the connection broken with `error`, returns it

  ScopedFd fd_;
  std::string buffer_;  // bytes received, not yet a whole line
  uint64_t next_id_ = 1;
  std::vector<std::string> events_;
  std::string broken_;
};

}  // namespace racerig::qmp
