// Verdict rules (see verdict.h).
#include "rig/verdict/verdict.h"

namespace racerig::verdict {

namespace {

bool kind_matches(const std::string& want, const std::string& got) { return want.empty() || want == got; }

bool function_matches(const std::string& want, const pb::Oops& oops) {
  if (want.empty()) return true;
  if (oops.rip().function() == want) return true;
  for (const auto& f : oops.trace())
    if (f.function() == want) return true;
  return false;
}

// Failed data checks of the check phase and of the actors; a failed
// prepare step is set-up, never evidence.
std::string failed_checks(const std::vector<pb::AgentEvent>& agent) {
  std::string out;
  for (const auto& e : agent)
    if (e.kind() == pb::AgentEvent::OP_FAILED && e.check_failed() && e.actor() != "prepare")
      out += (out.empty() ? "" : "; ") + e.actor() + (e.actor().empty() ? "" : " ") + e.op() + " " + e.path() + ": " +
             e.message();
  return out;
}

// The first failed prepare step, named ("prepare op 4 (report_dax /mnt/foo): ...").
std::string failed_prepare(const std::vector<pb::AgentEvent>& agent) {
  for (const auto& e : agent)
    if (e.kind() == pb::AgentEvent::OP_FAILED && e.actor() == "prepare")
      return "prepare op " + std::to_string(e.op_index()) + " (" + e.op() + " " + e.path() + "): " + e.message();
  return "";
}

std::string signal_name(int sig) {
  switch (sig) {
    case 4:
      return "SIGILL";
    case 6:
      return "SIGABRT";
    case 7:
      return "SIGBUS";
    case 9:
      return "SIGKILL";
    case 11:
      return "SIGSEGV";
    case 15:
      return "SIGTERM";
    default:
      return "signal " + std::to_string(sig);
  }
}

// Actors a signal killed: "faulter killed by SIGBUS".
std::string killed_actors(const std::vector<pb::AgentEvent>& agent) {
  std::string out;
  for (const auto& e : agent)
    if (e.kind() == pb::AgentEvent::ACTOR_DONE && e.signal() != 0)
      out += (out.empty() ? "" : "; ") + e.actor() + " killed by " + signal_name(e.signal());
  return out;
}

// Checks DONE's counts against the plan: "" when every actor finished OK
// and every check op ran and passed, else what is missing.
std::string unfinished_workload(const Evidence& ev) {
  const pb::AgentEvent* done = nullptr;
  for (const auto& e : ev.agent)
    if (e.kind() == pb::AgentEvent::DONE) done = &e;
  if (done == nullptr) return "the agent never said DONE";
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  if (done->actors_started() != ev.actors_planned)
    add(std::to_string(done->actors_started()) + " of " + std::to_string(ev.actors_planned) + " actors started");
  if (done->actors_ok() != ev.actors_planned) {
    std::string who;
    for (const auto& a : done->actor_ends())
      if (!a.ok())
        who +=
            (who.empty() ? "" : ", ") + a.actor() +
            (a.signal() != 0 ? " killed by " + signal_name(a.signal()) : " exit code " + std::to_string(a.exit_code()));
    add(std::to_string(done->actors_ok()) + " of " + std::to_string(ev.actors_planned) + " actors finished OK" +
        (who.empty() ? "" : " (" + who + ")"));
  }
  if (done->check_ops_run() != ev.checks_planned)
    add(std::to_string(done->check_ops_run()) + " of " + std::to_string(ev.checks_planned) + " check ops ran");
  if (done->check_ops_failed() != 0) add(std::to_string(done->check_ops_failed()) + " check ops failed");
  return out;
}

std::string blocked_text(const pb::BlockedTask& b) {
  std::string out = b.actor() + " asleep at " + b.where();
  if (b.behind_size() > 0) out += " behind " + b.behind(0);
  return out;
}

std::string failed_ops(const std::vector<pb::AgentEvent>& agent) {
  std::string out;
  for (const auto& e : agent)
    if ((e.kind() == pb::AgentEvent::OP_FAILED && !e.check_failed()) || e.kind() == pb::AgentEvent::FATAL)
      out += (out.empty() ? "" : "; ") + (e.actor().empty() ? std::string("agent") : e.actor()) + " " + e.op() + " " +
             e.path() + ": " + e.message();
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

// The report as a reason names it: its headline, after a WARN's message
// when it printed one ("refcount_t: underflow; use-after-free." says more
// than "WARNING: CPU: 1 PID: 70 at lib/refcount.c:28 ...").
std::string title(const pb::Oops& oops) {
  if (oops.message().empty()) return oops.headline();
  return oops.message().substr(0, oops.message().find('\n')) + " (" + oops.headline() + ")";
}

}  // namespace

bool kernel_failed(pb::Verdict v) { return v == pb::REPRODUCED || v == pb::DEADLOCK || v == pb::OTHER_OOPS; }

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

bool ends_schedule(const pb::Expectation& expect, const pb::Oops& oops) {
  return oops_matches(expect, oops) || oops.kind() != "WARNING";
}

std::optional<size_t> verdict_report(const pb::Expectation& expect, const std::vector<pb::Oops>& reports) {
  for (size_t i = 0; i < reports.size(); ++i)
    if (oops_matches(expect, reports[i])) return i;
  for (size_t i = 0; i < reports.size(); ++i)
    if (reports[i].kind() != "WARNING") return i;
  if (reports.empty()) return std::nullopt;
  return 0;
}

namespace {

pb::Verdict decide_from_evidence(const pb::Expectation& expect, const Evidence& ev, std::string* reason) {
  using Kind = schedule::Outcome::Kind;
  std::string enforced = ev.unforced     ? "unforced run (no schedule)"
                         : ev.serialized ? ev.schedule_reason
                         : ev.schedule_ran && ev.schedule == Kind::kEnforced
                             ? "schedule enforced"
                             : "schedule NOT fully enforced (" + ev.schedule_reason + ")";
  // A failed set-up step makes the run meaningless, cold or from a snapshot.
  if (std::string prep = failed_prepare(ev.agent); !prep.empty()) {
    *reason = "set-up failed: " + prep;
    return pb::INFRA_ERROR;
  }
  if (ev.oops && oops_matches(expect, ev.oops_report)) {
    *reason = title(ev.oops_report) + " at " + where(ev.oops_report) + "; " + enforced;
    return pb::REPRODUCED;
  }
  std::string checks = failed_checks(ev.agent);
  if (expect.guest_check_fails() && !checks.empty()) {
    std::string killed = killed_actors(ev.agent);
    *reason = "guest data check failed: " + checks + (killed.empty() ? "" : " (" + killed + ")") + "; " + enforced;
    return pb::REPRODUCED;
  }
  if (ev.vm_failed) {
    *reason = !ev.infra_error.empty()                         ? ev.infra_error
              : enforced.find(ev.vm_end) != std::string::npos ? enforced
                                                              : ev.vm_end + "; " + enforced;
    return pb::INFRA_ERROR;
  }
  if (!ev.infra_error.empty()) {
    *reason = ev.infra_error;
    return pb::INFRA_ERROR;
  }
  if (!ev.unparsable.empty()) {
    *reason = ev.unparsable.front();
    return pb::INFRA_ERROR;
  }
  if (!ev.schedule_ran) {
    *reason = "the schedule never started: " + ev.schedule_reason;
    return pb::INFRA_ERROR;
  }
  if (ev.oops) {
    // One rule for kernel reports: any report that does not match is
    // another bug (a new one the patch introduced shows up here), whenever
    // it came.
    const std::string at = where(ev.oops_report);
    *reason = "the kernel reported \"" + title(ev.oops_report) + "\"" + (at.empty() ? "" : " at " + at) +
              ", which the scenario does not expect; " + enforced;
    return pb::OTHER_OOPS;
  }
  if (!ev.deadlock.empty()) {
    std::string who;
    for (const auto& b : ev.deadlock) who += (who.empty() ? "" : "; ") + blocked_text(b);
    *reason = "deadlock after the schedule released the held actors: " + who;
    return pb::DEADLOCK;
  }
  switch (ev.schedule) {
    case Kind::kNotReached:
      *reason = ev.schedule_reason;
      return pb::SCHEDULE_NOT_REACHED;
    case Kind::kGuestCrashed:
      *reason = ev.schedule_reason;
      return pb::INFRA_ERROR;  // a crash without a report: the console lost it
    case Kind::kStalled:
      *reason = ev.schedule_reason;
      return pb::STALLED;
    case Kind::kError:
      *reason = ev.schedule_reason;
      return pb::INFRA_ERROR;
    case Kind::kEnforced:
    case Kind::kSerialized:
      break;
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
  if (std::string killed = killed_actors(ev.agent); !killed.empty()) {
    *reason = killed + ", and the scenario does not expect it; " + enforced;
    return pb::OTHER_OOPS;
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
  if (std::string missing = unfinished_workload(ev); !missing.empty()) {
    *reason = "the workload did not finish: " + missing;
    return pb::INFRA_ERROR;
  }
  *reason = (ev.serialized ? enforced : std::string(ev.unforced ? "unforced run (no schedule)" : "schedule enforced")) +
            "; the guest finished (" + std::to_string(ev.actors_planned) + " actors OK, " +
            std::to_string(ev.checks_planned) + " checks passed); no matching oops";
  return pb::NOT_REPRODUCED;
}

}  // namespace

pb::Verdict decide(const pb::Expectation& expect, const Evidence& ev, std::string* reason) {
  const pb::Verdict v = decide_from_evidence(expect, ev, reason);
  if ((v == pb::INFRA_ERROR || v == pb::STALLED) && !ev.vm_end.empty() && reason->find(ev.vm_end) == std::string::npos)
    *reason += "; " + ev.vm_end;
  return v;
}

}  // namespace racerig::verdict
