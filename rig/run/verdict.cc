// Verdict rules (see verdict.h).
#include "rig/run/verdict.h"

namespace racerig::run {

namespace {

bool kind_matches(const std::string& want, const std::string& got) {
  return want.empty() || want == got;
}

bool function_matches(const std::string& want, const pb::Oops& oops) {
  if (want.empty()) return true;
  if (oops.rip().function() == want) return true;
  for (const auto& f : oops.trace())
    if (f.function() == want) return true;
  return false;
}

std::string failed_checks(const std::vector<pb::AgentEvent>& agent) {
  std::string out;
  for (const auto& e : agent)
    if (e.kind() == pb::AgentEvent::OP_FAILED && e.check_failed())
      out += (out.empty() ? "" : "; ") + e.actor() + (e.actor().empty() ? "" : " ") + e.op() + " " + e.path() + ": " + e.message();
  return out;
}

std::string failed_ops(const std::vector<pb::AgentEvent>& agent) {
  std::string out;
  for (const auto& e : agent)
    if ((e.kind() == pb::AgentEvent::OP_FAILED && !e.check_failed()) || e.kind() == pb::AgentEvent::FATAL)
      out += (out.empty() ? "" : "; ") + (e.actor().empty() ? std::string("agent") : e.actor()) + " " + e.op() +
             " " + e.path() + ": " + e.message();
  return out;
}

// Where the report happened: the RIP as printed; a RIP without a symbol (a
// call through a NULL function pointer prints "RIP: 0010:0x0") also names
// the first certain frame of the call trace, the code that made the call.
std::string where(const pb::Oops& oops) {
  std::string at = oops.rip().text();
  if (!oops.rip().function().empty()) return at;
  for (const auto& f : oops.trace()) {
    if (f.uncertain() || f.text().empty()) continue;
    return (at.empty() ? "" : at + " ") + "called from " + f.text();
  }
  return at;
}

}  // namespace

const char* verdict_name(pb::Verdict v) {
  // The generated name (static storage); "UNKNOWN" for unset or unknown values.
  if (v == pb::VERDICT_UNSPECIFIED || pb::Verdict_Name(v).empty()) return "UNKNOWN";
  return pb::Verdict_Name(v).c_str();
}

bool oops_matches(const pb::Expectation& expect, const pb::Oops& oops) {
  for (const auto& want : expect.oops()) {
    if (!kind_matches(want.kind(), oops.kind())) continue;
    if (!function_matches(want.function(), oops)) continue;
    if (!want.message_contains().empty() && oops.text().find(want.message_contains()) == std::string::npos) continue;
    return true;
  }
  return false;
}

std::optional<size_t> verdict_report(const pb::Expectation& expect, const std::vector<pb::Oops>& reports) {
  for (size_t i = 0; i < reports.size(); ++i)
    if (oops_matches(expect, reports[i])) return i;
  for (size_t i = 0; i < reports.size(); ++i)
    if (reports[i].kind() != "WARNING") return i;
  if (reports.empty()) return std::nullopt;
  return 0;
}

pb::Verdict decide(const pb::Expectation& expect, const Evidence& ev, std::string* reason) {
  using Kind = schedule::Outcome::Kind;
  std::string enforced = ev.unforced ? "unforced run (no schedule)"
                         : ev.schedule_ran && ev.schedule == Kind::kEnforced
                             ? "schedule enforced"
                             : "schedule NOT fully enforced (" + ev.schedule_reason + ")";
  if (ev.oops && oops_matches(expect, ev.oops_report)) {
    *reason = ev.oops_report.headline() + " at " + where(ev.oops_report) + "; " + enforced;
    return pb::REPRODUCED;
  }
  std::string checks = failed_checks(ev.agent);
  if (expect.guest_check_fails() && !checks.empty()) {
    *reason = "guest data check failed: " + checks + "; " + enforced;
    return pb::REPRODUCED;
  }
  if (!ev.infra_error.empty()) {
    *reason = ev.infra_error;
    return pb::INFRA_ERROR;
  }
  if (!ev.schedule_ran) {
    *reason = "the schedule never started: " + ev.schedule_reason;
    return pb::INFRA_ERROR;
  }
  switch (ev.schedule) {
    case Kind::kNotReached:
      *reason = ev.schedule_reason;
      return pb::SCHEDULE_NOT_REACHED;
    case Kind::kGuestCrashed:
      *reason = ev.schedule_reason + " (the oops does not match the expectation)";
      return pb::SCHEDULE_NOT_REACHED;
    case Kind::kStalled:
      *reason = ev.schedule_reason;
      return pb::STALLED;
    case Kind::kError:
      *reason = ev.schedule_reason;
      return pb::INFRA_ERROR;
    case Kind::kEnforced:
      break;
  }
  if (ev.oops) {
    // An oops the scenario does not expect: not a pass, and not this race.
    const std::string at = where(ev.oops_report);
    *reason = "the kernel reported \"" + ev.oops_report.headline() + "\"" + (at.empty() ? "" : " at " + at) +
              ", which the scenario does not expect";
    return pb::OTHER_OOPS;
  }
  if (ev.finish_timed_out) {
    *reason = "the guest did not finish its workload after the schedule";
    return pb::STALLED;
  }
  std::string stuck;
  for (const auto& e : ev.agent)
    if (e.kind() == pb::AgentEvent::STUCK) stuck += (stuck.empty() ? "" : "; ") + e.actor() + ": " + e.message();
  if (!stuck.empty()) {
    *reason = "the guest hung: " + stuck;
    return pb::STALLED;
  }
  if (ev.agent_fatal || !ev.agent_done) {
    *reason = "the guest agent failed: " + failed_ops(ev.agent);
    return pb::INFRA_ERROR;
  }
  std::string ops = failed_ops(ev.agent);
  if (!ops.empty()) {
    *reason = "guest operations failed: " + ops;
    return pb::INFRA_ERROR;
  }
  if (!checks.empty()) {
    *reason = "schedule enforced, no oops, but guest data checks failed (not expected by the scenario): " + checks;
    return pb::INFRA_ERROR;
  }
  *reason = std::string(ev.unforced ? "unforced run (no schedule)" : "schedule enforced") +
            ", the guest finished and every check passed; no matching oops";
  return pb::NOT_REPRODUCED;
}

}  // namespace racerig::run
