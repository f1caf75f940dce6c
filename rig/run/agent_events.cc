// Agent status line parsing and rendering.
#include "rig/run/agent_events.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <string>

namespace racerig::run {

namespace {
constexpr std::string_view kPrefix = "@racerig ";

// Keeps parse errors of a garbled line off stderr.
class Quiet : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
};
}  // namespace

std::optional<pb::AgentEvent> parse_agent_line(std::string_view line) {
  size_t at = line.find(kPrefix);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view body = line.substr(at + kPrefix.size());
  while (!body.empty() && (body.back() == '\r' || body.back() == '\n')) body.remove_suffix(1);
  pb::AgentEvent e;
  google::protobuf::TextFormat::Parser parser;
  Quiet quiet;
  parser.RecordErrorsTo(&quiet);
  if (!parser.ParseFromString(std::string(body), &e)) return std::nullopt;
  return e;
}

std::string describe_agent_event(const pb::AgentEvent& e) {
  std::string who = e.actor().empty() ? "agent" : e.actor();
  std::string out = "[" + who + "] " + pb::AgentEvent::Kind_Name(e.kind());
  if (!e.op().empty()) out += " " + e.op();
  if (!e.path().empty()) out += " " + e.path();
  if (e.kind() == pb::AgentEvent::SETUP && !e.fs_type().empty())
    out += " " + e.mount_source() + " on /mnt type " + e.fs_type() + " (" + e.mount_options() + "), namespace " +
           e.namespace_mode();
  if (e.op() == "report_dax")
    out += std::string(" STATX_ATTR_DAX=") + (e.statx_dax() ? "1" : "0") + " FS_XFLAG_DAX=" + (e.xflag_dax() ? "1" : "0");
  if (e.err_no() != 0) out += " errno " + std::to_string(e.err_no());
  if (!e.message().empty()) out += ": " + e.message();
  return out;
}

}  // namespace racerig::run
