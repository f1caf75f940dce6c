// Verdict rules, kept apart from the machinery so they can be read and
// tested on their own:
// - REPRODUCED: the expectation happened (a matching oops, or a failed data
//   check when the scenario counts those).
// - NOT_REPRODUCED: only when every schedule step was enforced AND the guest
//   finished its workload (agent DONE) without the expectation happening.
// - SCHEDULE_NOT_REACHED: a hold point was never reached. Inconclusive.
// - STALLED: a deadline passed (a step, or the guest after the schedule),
//   or the running actor waits for a held vCPU (IPI, RCU).
// - OTHER_OOPS: a kernel report that does not match (an oops, or a WARNING
//   such as "refcount_t: underflow": a WARNING does not stop the run, but
//   an unexpected one is never a pass), or an actor killed by a signal
//   without the expectation happening.
// - DEADLOCK: after the release the actors could not finish, each asleep
//   on a lock behind another.
// - INFRA_ERROR: racerig, QEMU or the agent failed; a failed prepare step
//   (set-up), an agent line that does not decode.
// Only actor and check-phase events count towards a reproduction; a
// serialized run (the running actor slept on a lock behind a held one) is
// NOT_REPRODUCED under the same conditions, and says "serialized".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/schedule/engine.h"

namespace racerig::verdict {

struct Evidence {
  schedule::Outcome::Kind schedule = schedule::Outcome::Kind::kEnforced;
  bool schedule_ran = false;  // the engine got to run (boot reached READY)
  bool unforced = false;      // the scenario has no schedule (a stress run)
  std::string schedule_reason;
  bool oops = false;
  pb::Oops oops_report;
  std::vector<pb::AgentEvent> agent;
  bool agent_done = false;   // DONE seen
  bool agent_fatal = false;  // FATAL seen
  bool finish_timed_out = false;
  // The running actor slept on a lock behind a held one; the schedule went
  // on as the kernel allowed (Outcome kSerialized).
  bool serialized = false;
  // After the release the actors could not finish: each asleep on a lock
  // behind another.
  std::vector<pb::BlockedTask> deadlock;
  // --attach: the vCPU stopped on the oops path and put back at the
  // faulting instruction (-1: none); the crash it describes.
  int crash_vcpu = -1;
  pb::Oops crash_stop;
  // Agent lines with the event prefix that did not decode (quoted).
  std::vector<std::string> unparsable;
  // From the scenario: what a finished workload's DONE must account for.
  int actors_planned = 0;
  int checks_planned = 0;
  std::string infra_error;  // non-empty: racerig/QEMU failed
  // How QEMU ended when it is gone by the verdict (Machine::exit_text):
  // added to the reason of an INFRA_ERROR or STALLED run that does not
  // already say it.
  std::string vm_end;
  // QEMU died (a signal, a non-zero status) before the verdict: the run is
  // an INFRA_ERROR unless the matching oops was already seen.
  bool vm_failed = false;
};

const char* verdict_name(pb::Verdict v);

// Whether a verdict is a failure of the kernel: REPRODUCED, DEADLOCK or
// OTHER_OOPS (what makes a patched kernel NOT_FIXED).
bool kernel_failed(pb::Verdict v);

// Does this oops satisfy one of the expectation's oops clauses?
bool oops_matches(const pb::Expectation& expect, const pb::Oops& oops);
// Does this report end the schedule (and the run)? One that matches the
// expectation, or one that is not a WARNING (the kernel is going down). An
// unexpected WARNING lets the kernel, and the schedule, go on; it is still
// judged at the end (OTHER_OOPS).
bool ends_schedule(const pb::Expectation& expect, const pb::Oops& oops);
// Which of the console's reports (in order) the verdict is about: the first
// that matches the expectation; else the first that is not a WARNING (the
// crash that ended the run; warnings often come before it); else the first.
std::optional<size_t> verdict_report(const pb::Expectation& expect, const std::vector<pb::Oops>& reports);
// Decides the verdict and a one-line reason.
pb::Verdict decide(const pb::Expectation& expect, const Evidence& evidence, std::string* reason);

}  // namespace racerig::verdict
