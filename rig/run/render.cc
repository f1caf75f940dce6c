// Human rendering of a run's report (see render.h).
#include "rig/run/render.h"

#include <cstdio>
#include <string>

#include "rig/crash/oops.h"
#include "rig/run/agent_events.h"
#include "rig/verdict/verdict.h"

namespace racerig::run {

namespace {
std::string fmt_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  return buf;
}
}  // namespace

std::string verdict_line(const pb::RunReport& r) {
  return "run " + std::to_string(r.run()) + ": " + verdict::verdict_name(r.verdict()) + " — " + r.reason();
}

std::string reproduce_line(const pb::ReproduceReport& r) {
  return r.scenario() + " on " + r.kernel_variant() + ": " + std::to_string(r.reproduced()) + "/" +
         std::to_string(r.runs_size()) + " reproduced";
}

std::string render_run(const pb::RunReport& r, bool verbose) {
  std::string out = verdict_line(r) + "\n";
  std::string timings;
  double total = 0;
  for (const auto& t : r.timings()) {
    timings += (timings.empty() ? "" : ", ") + t.phase() + " " + fmt_ms(t.ms());
    total += t.ms();
  }
  if (!timings.empty()) out += "  time: " + fmt_ms(total) + " (" + timings + ")\n";
  if (!r.kept_logs().empty()) out += "  logs kept in " + r.kept_logs() + "\n";
  if (verbose || r.verdict() != pb::REPRODUCED) {
    for (const auto& e : r.events()) {
      if (e.what() == "skipped" && !verbose) continue;
      char line[512];
      std::snprintf(line, sizeof line, "  %8.1f ms  %-14s %-8s vCPU%d %s%s%s\n", e.t_ms(), e.what().c_str(),
                    e.actor().c_str(), e.vcpu(), e.symbol().c_str(), e.detail().empty() ? "" : "  ",
                    e.detail().c_str());
      if (e.vcpu() < 0)
        std::snprintf(line, sizeof line, "  %8.1f ms  %-14s %s\n", e.t_ms(), e.what().c_str(), e.detail().c_str());
      out += line;
    }
  }
  if (r.has_oops()) out += crash::render(r.oops());
  if (r.blocked_size() > 0) {
    out += std::string("  ") + (r.verdict() == pb::DEADLOCK ? "deadlocked tasks" : "blocked") +
           (r.time_to_detect_block_ms() > 0 ? " (detected after " + fmt_ms(r.time_to_detect_block_ms()) + ")" : "") +
           ":\n";
    for (const auto& b : r.blocked()) {
      out += "    " + b.actor() + " [" + b.comm() + " " + std::to_string(b.pid()) + ", vCPU " +
             std::to_string(b.vcpu()) + "] waits for " + b.wait() + " at " + b.where() + "\n";
      for (const auto& w : b.behind()) out += "      behind " + w + "\n";
      for (const auto& f : b.stack()) out += "      " + f + "\n";
    }
  }
  for (const auto& v : r.vcpus()) {
    out += "  vCPU" + std::to_string(v.vcpu()) + (v.held() ? " (held)" : "") + ": " + v.symbol() +
           (v.where().empty() ? "" : " " + v.where()) +
           (v.comm().empty() ? "" : " [" + v.comm() + " " + std::to_string(v.pid()) + "]") + "\n";
  }
  if (r.verdict() != pb::REPRODUCED || verbose) {
    for (const auto& e : r.agent())
      if (e.kind() == pb::AgentEvent::OP_FAILED || e.kind() == pb::AgentEvent::FATAL || verbose ||
          (r.verdict() == pb::NOT_REPRODUCED && e.kind() == pb::AgentEvent::OP_OK && !e.actor().empty()))
        out += "  " + describe_agent_event(e) + "\n";
  }
  return out;
}

}  // namespace racerig::run
