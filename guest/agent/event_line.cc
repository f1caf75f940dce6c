// Agent event lines: formatting (in the guest) and decoding (on the host).
#include "guest/agent/event_line.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

namespace racerig::agent {

namespace {

// Keeps parse errors of a garbled line off stderr.
class SilentErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
};

void sanitize_in_place(std::string* s) {
  if (s->empty()) return;
  *s = sanitize_text(*s);
}

}  // namespace

std::string sanitize_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += " | ";
    } else if (c < 0x20 || c == 0x7f) {
      out += ' ';
    } else if (c >= 0x80) {
      out += '?';
    } else {
      out += ch;
    }
  }
  // A tool's output usually ends in a newline: no dangling separator.
  while (out.size() >= 3 && out.compare(out.size() - 3, 3, " | ") == 0) out.resize(out.size() - 3);
  return out;
}

std::string format_event_line(const pb::AgentEvent& event) {
  pb::AgentEvent e = event;
  sanitize_in_place(e.mutable_actor());
  sanitize_in_place(e.mutable_op());
  sanitize_in_place(e.mutable_path());
  sanitize_in_place(e.mutable_message());
  sanitize_in_place(e.mutable_fs_type());
  sanitize_in_place(e.mutable_mount_source());
  sanitize_in_place(e.mutable_mount_options());
  sanitize_in_place(e.mutable_namespace_mode());
  std::string line(kEventPrefix);
  line += e.ShortDebugString();
  line += '\n';
  return line;
}

Result<std::optional<pb::AgentEvent>> decode_event_line(std::string_view line) {
  size_t at = line.find(kEventPrefix);
  if (at == std::string_view::npos) return std::optional<pb::AgentEvent>();
  std::string_view body = line.substr(at + kEventPrefix.size());
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  pb::AgentEvent e;
  google::protobuf::TextFormat::Parser parser;
  SilentErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(body), &e))
    return make_error(ErrorKind::kProtocol, "an agent line that is not an AgentEvent: \"" +
                                                sanitize_text(line.substr(0, 300)) + "\"");
  return std::optional<pb::AgentEvent>(std::move(e));
}

std::optional<pb::AgentEvent> parse_event_line(std::string_view line) {
  auto r = decode_event_line(line);
  if (!r.ok()) return std::nullopt;
  return *r;
}

}  // namespace racerig::agent
