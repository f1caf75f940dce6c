// Patch validation rules and renderings (see validate.h).
#include "rig/verdict/validate.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "rig/crash/oops.h"
#include "rig/verdict/verdict.h"

namespace racerig::verdict {

namespace {

std::map<pb::Verdict, int> counts(const pb::ReproduceReport& r) {
  std::map<pb::Verdict, int> out;
  for (const auto& run : r.runs()) ++out[run.verdict()];
  return out;
}

}  // namespace

std::string count_text(const pb::ReproduceReport& r) {
  std::string out;
  for (const auto& [v, n] : counts(r)) out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + verdict_name(v);
  return out.empty() ? "no runs" : out;
}

const pb::RunReport* first_with(const pb::ReproduceReport& r, pb::Verdict v) {
  for (const auto& run : r.runs())
    if (run.verdict() == v) return &run;
  return nullptr;
}

namespace {

const pb::RunReport* first_not(const pb::ReproduceReport& r, pb::Verdict v) {
  for (const auto& run : r.runs())
    if (run.verdict() != v) return &run;
  return nullptr;
}

}  // namespace

const char* result_name(pb::ValidationResult r) {
  // The generated name (static storage); "UNKNOWN" for unset or unknown values.
  if (r == pb::VALIDATION_UNSPECIFIED || pb::ValidationResult_Name(r).empty()) return "UNKNOWN";
  return pb::ValidationResult_Name(r).c_str();
}

pb::ValidationResult classify(const pb::ReproduceReport& control, const pb::ReproduceReport& patched,
                              std::string* reason) {
  if (control.runs().empty() || patched.runs().empty()) {
    *reason = "no runs";
    return pb::ERROR;
  }
  // Infrastructure failures on either kernel: an error, not a judgement.
  for (const auto* r : {&control, &patched}) {
    if (const pb::RunReport* bad = first_with(*r, pb::INFRA_ERROR)) {
      *reason = r->kernel_variant() + " run " + std::to_string(bad->run()) + ": " + bad->reason();
      return pb::ERROR;
    }
  }
  if (const pb::RunReport* hit = first_with(patched, pb::REPRODUCED)) {
    *reason = "the patched kernel still reproduces (" + count_text(patched) + "): run " + std::to_string(hit->run()) +
              ": " + hit->reason();
    if (hit->has_oops() && hit->reason().find(hit->oops().headline()) == std::string::npos)
      *reason += "; oops: " + hit->oops().headline() +
                 (hit->oops().rip().text().empty() ? "" : " at " + hit->oops().rip().text());
    return pb::NOT_FIXED;
  }
  // A deadlock or another oops on the patched kernel is a failure of the
  // patch: never FIXED, never INCONCLUSIVE.
  for (pb::Verdict bad : {pb::DEADLOCK, pb::OTHER_OOPS}) {
    if (const pb::RunReport* hit = first_with(patched, bad)) {
      *reason = "the patched kernel fails differently (" + count_text(patched) + "): run " +
                std::to_string(hit->run()) + ": " + hit->reason();
      return pb::NOT_FIXED;
    }
  }
  if (const pb::RunReport* miss = first_not(control, pb::REPRODUCED)) {
    *reason = "the control (" + control.kernel_variant() + ") did not reproduce on every run (" + count_text(control) +
              "); run " + std::to_string(miss->run()) + ": " + miss->reason();
    return pb::INCONCLUSIVE;
  }
  if (const pb::RunReport* miss = first_not(patched, pb::NOT_REPRODUCED)) {
    *reason = "on the patched kernel (" + patched.kernel_variant() + ") run " + std::to_string(miss->run()) + " was " +
              verdict_name(miss->verdict()) + ": " + miss->reason();
    return pb::INCONCLUSIVE;
  }
  // FIXED needs proof on every patched run: the schedule enforced, or the
  // kernel serializing it (the running actor asleep on a lock behind the
  // held one, everyone finished afterwards).
  int serialized = 0;
  for (const auto& run : patched.runs()) {
    if (!run.schedule_enforced() && !run.serialized()) {
      *reason = "on the patched kernel (" + patched.kernel_variant() + ") run " + std::to_string(run.run()) +
                " was NOT_REPRODUCED without an enforced schedule: no proof";
      return pb::INCONCLUSIVE;
    }
    serialized += run.serialized() ? 1 : 0;
  }
  *reason = "control reproduced " + std::to_string(control.runs_size()) + "/" + std::to_string(control.runs_size()) +
            "; patched kernel not reproduced on " + std::to_string(patched.runs_size()) + " runs";
  if (serialized == 0) {
    *reason += " with the schedule enforced";
  } else {
    const pb::RunReport* first = nullptr;
    for (const auto& run : patched.runs())
      if (run.serialized() && first == nullptr) first = &run;
    std::string why = "serialized";
    if (first != nullptr && first->blocked_size() > 0) {
      const pb::BlockedTask& b = first->blocked(0);
      std::string behind = b.behind_size() > 0 ? b.behind(0) : "a held actor";
      why = "serialized: " + b.actor() + " blocked at " + b.where() + " while " + behind;
    }
    *reason += " (" + std::to_string(serialized) + " of them " + why + ")";
  }
  return pb::FIXED;
}

std::string schedule_label(const pb::ExploredSchedule& s) {
  auto name = [](const pb::ExplorePoint& p) {
    return p.function() + " " + p.file() + ":" + std::to_string(p.line()) + " #" + std::to_string(p.visit());
  };
  if (s.depth() == 2)
    return s.held() + " at " + name(s.point()) + ", " + s.runner() + " to " + name(s.runner_point()) + ", then " +
           s.held() + " finishes";
  return s.held() + " at " + name(s.point()) + " while " + s.runner() + " runs";
}

pb::ValidationResult classify_explored(const pb::ReproduceReport& control, const pb::ReproduceReport& patched,
                                       const pb::ExploreReport& control_map, const pb::ExploreReport& patched_map,
                                       std::string* reason) {
  for (const auto* m : {&control_map, &patched_map}) {
    if (!m->error().empty()) {
      *reason = "exploring " + m->kernel_variant() + ": " + m->error();
      return pb::ERROR;
    }
    for (const auto& s : m->schedules())
      if (s.verdict() == pb::INFRA_ERROR) {
        *reason = m->kernel_variant() + " schedule " + std::to_string(s.index()) + " (" + schedule_label(s) +
                  "): " + s.reason();
        return pb::ERROR;
      }
  }
  // The patched kernel failing at any point is NOT_FIXED, whatever the rest.
  std::vector<const pb::ExploredSchedule*> failing;
  for (const auto& s : patched_map.schedules())
    if (kernel_failed(s.verdict()))
      failing.push_back(&s);
  // Named in this order: forced failures first, then the deeper schedules
  // (a depth-2 pair says more than a depth-1 tail after a serialization).
  std::stable_sort(failing.begin(), failing.end(), [](const pb::ExploredSchedule* a, const pb::ExploredSchedule* b) {
    if (a->serialized() != b->serialized()) return !a->serialized();
    return a->depth() > b->depth();
  });
  if (!failing.empty()) {
    *reason = "the patched kernel fails at " + std::to_string(failing.size()) + " of " +
              std::to_string(patched_map.schedules_size()) + " explored schedules: ";
    for (size_t i = 0; i < failing.size(); ++i) {
      if (i == 5) {
        *reason += "; and " + std::to_string(failing.size() - 5) + " more (the map lists them)";
        break;
      }
      *reason += (i == 0 ? "" : "; ") + schedule_label(*failing[i]) + ": " + verdict_name(failing[i]->verdict());
      if (failing[i]->run().has_oops() && !failing[i]->run().oops().headline().empty())
        *reason += " (" + failing[i]->run().oops().headline() + ")";
    }
    return pb::NOT_FIXED;
  }
  // The hand schedule's own runs.
  std::string hand;
  const pb::ValidationResult by_runs = classify(control, patched, &hand);
  if (by_runs != pb::FIXED) {
    *reason = "the scenario's own schedule: " + hand;
    return by_runs;
  }
  int control_hits = 0;
  for (const auto& s : control_map.schedules()) control_hits += s.verdict() == pb::REPRODUCED ? 1 : 0;
  if (control_hits == 0) {
    *reason = "the control (" + control_map.kernel_variant() + ") reproduced at none of its " +
              std::to_string(control_map.schedules_size()) + " explored points: the window shows no race to fix";
    return pb::INCONCLUSIVE;
  }
  if (patched_map.schedules_size() == 0) {
    *reason = "the patched kernel's trace gave no point to explore";
    return pb::INCONCLUSIVE;
  }
  if (patched_map.total() > patched_map.schedules_size()) {
    *reason = "the patched kernel's exploration stopped after " + std::to_string(patched_map.schedules_size()) +
              " of its " + std::to_string(patched_map.total()) + " planned schedules";
    return pb::INCONCLUSIVE;
  }
  int exercised = 0, serialized = 0, unreachable = 0;
  for (const auto& s : patched_map.schedules()) {
    if (s.verdict() == pb::NOT_REPRODUCED && (s.run().schedule_enforced() || s.serialized())) {
      ++exercised;
      serialized += s.serialized() ? 1 : 0;
    } else if (s.verdict() == pb::SCHEDULE_NOT_REACHED) {
      ++unreachable;
    } else {
      *reason = "on the patched kernel schedule " + std::to_string(s.index()) + " (" + schedule_label(s) + ") was " +
                verdict_name(s.verdict()) + ": " + s.reason() + "; that point is neither exercised nor unreachable";
      return pb::INCONCLUSIVE;
    }
  }
  *reason = "no explored point reproduces on the patched kernel: " + std::to_string(exercised) + " of " +
            std::to_string(patched_map.schedules_size()) + " exercised (" + std::to_string(serialized) +
            " serialized), " + std::to_string(unreachable) +
            " unreachable (the held actor finished without reaching them); the control reproduced at " +
            std::to_string(control_hits) + " of " + std::to_string(control_map.schedules_size()) +
            "; the scenario's own schedule: " + hand;
  return pb::FIXED;
}

std::string validation_table(const pb::ValidateReport& report) {
  // Columns as wide as their longest cell (patched variant names are long).
  size_t w_scenario = 8, w_kernel = 6, w_verdicts = 8;
  for (const auto& s : report.scenarios()) {
    w_scenario = std::max(w_scenario, s.scenario().size());
    w_kernel = std::max({w_kernel, s.control().kernel_variant().size() + 10, s.patched().kernel_variant().size()});
    w_verdicts = std::max({w_verdicts, count_text(s.control()).size(), count_text(s.patched()).size()});
  }
  auto row = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d) {
    std::string line =
        a + std::string(w_scenario - a.size() + 2, ' ') + b + std::string(w_kernel - b.size() + 2, ' ') + c;
    if (!d.empty()) line += std::string(w_verdicts - c.size() + 2, ' ') + d;
    return line + "\n";
  };
  std::string out = row("scenario", "kernel", "verdicts", "result");
  for (const auto& s : report.scenarios()) {
    out += row(s.scenario(), s.control().kernel_variant() + " (control)", count_text(s.control()), "");
    out += row("", s.patched().kernel_variant(), count_text(s.patched()), result_name(s.result()));
    out += "    " + s.reason() + "\n";
    if (s.result() == pb::NOT_FIXED)
      if (const pb::RunReport* hit = first_with(s.patched(), pb::REPRODUCED)) out += crash::render(hit->oops());
  }
  return out;
}

}  // namespace racerig::verdict
