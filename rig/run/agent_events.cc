// Agent event rendering.
#include "rig/run/agent_events.h"

#include <string>

namespace racerig::run {

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
