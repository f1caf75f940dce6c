// The explore map as text (see map.h).
#include "rig/explore/map.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rig/verdict/verdict.h"

namespace racerig::explore {

namespace {

std::string code_point_text(const pb::CodePoint& at) { return at.symbol().empty() ? at.line() : at.symbol(); }

std::string predicates_text(const google::protobuf::RepeatedPtrField<pb::Predicate>& when) {
  std::string out;
  for (const pb::Predicate& p : when) {
    static const char* const kCmp[] = {"==", "!=", "<", ">"};
    const char* cmp = p.cmp() >= 0 && p.cmp() <= 3 ? kCmp[p.cmp()] : "?";
    out += out.empty() ? " when " : " and ";
    out += (p.reg().empty() ? "arg" + std::to_string(p.arg()) : p.reg()) + " " + cmp + " " +
           std::to_string(p.value());
  }
  return out;
}

std::string visit_text(uint32_t visit) { return visit > 1 ? " #" + std::to_string(visit) : ""; }

// Where a schedule's point is in the held actor's trace (the report's
// order); points not in the trace come after every traced one.
size_t trace_position(const pb::ExploreReport& report, const pb::ExploredSchedule& s) {
  for (int i = 0; i < report.trace_size(); ++i) {
    const pb::ExplorePoint& t = report.trace(i);
    const pb::ExplorePoint& p = s.point();
    if (t.actor() == s.held() && t.function() == p.function() && t.file() == p.file() && t.line() == p.line() &&
        t.visit() == p.visit())
      return static_cast<size_t>(i);
  }
  return static_cast<size_t>(report.trace_size());
}

std::string pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

// The outcomes in the order the totals list them.
const char* const kOutcomeOrder[] = {"REPRODUCED", "DEADLOCK",   "OTHER_OOPS", "NOT_REPRODUCED", "serialized",
                                     "not reached", "STALLED", "INFRA_ERROR", "UNKNOWN"};

}  // namespace

std::string point_name(const pb::ExplorePoint& point) {
  std::string out = point.function();
  if (!point.file().empty()) out += (out.empty() ? "" : " ") + point.file() + ":" + std::to_string(point.line());
  out += (out.empty() ? "#" : " #") + std::to_string(point.visit());
  return out;
}

std::string outcome_name(const pb::ExploredSchedule& s) {
  if (s.verdict() == pb::NOT_REPRODUCED && s.serialized()) return "serialized";
  if (s.verdict() == pb::SCHEDULE_NOT_REACHED) return "not reached";
  return verdict::verdict_name(s.verdict());
}

Severity severity(const pb::ExploredSchedule& s) {
  switch (s.verdict()) {
    case pb::REPRODUCED:
      return Severity::kReproduced;
    case pb::DEADLOCK:
    case pb::OTHER_OOPS:
      return Severity::kFailed;
    case pb::NOT_REPRODUCED:
      return s.serialized() ? Severity::kSerialized : Severity::kPassed;
    default:
      return Severity::kInconclusive;
  }
}

std::string direction_name(const pb::ExploredSchedule& s) { return s.held() + " held, " + s.runner() + " runs"; }

std::string step_text(const pb::Step& step) {
  switch (step.action_case()) {
    case pb::Step::kHold: {
      const pb::Hold& h = step.hold();
      return "hold " + h.actor() + " at " + code_point_text(h.at()) + visit_text(h.visit()) +
             predicates_text(h.when());
    }
    case pb::Step::kRun: {
      const pb::Run& r = step.run();
      if (r.until_done()) return "run " + r.actor() + " until done";
      if (r.until_return()) return "run " + r.actor() + " until it returns";
      return "run " + r.actor() + " until " + code_point_text(r.until()) + visit_text(r.visit()) +
             predicates_text(r.when());
    }
    case pb::Step::kRelease:
      return step.release().actor().empty() ? "release everyone" : "release " + step.release().actor();
    default:
      return "(empty step)";
  }
}

std::string duration_text(double ms) {
  char buf[48];
  if (ms < 10000)
    std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  else
    std::snprintf(buf, sizeof buf, "%.1f s", ms / 1000);
  return buf;
}

std::string render_map(const pb::ExploreReport& report) {
  std::string out;
  if (!report.error().empty()) out += "error: " + report.error() + "\n";
  out += "explore " + (report.scenario().empty() ? std::string("(unnamed scenario)") : report.scenario()) + " on " +
         (report.kernel_variant().empty() ? std::string("(unknown kernel)") : report.kernel_variant());
  if (!report.kernel_build_id().empty()) out += " (build " + report.kernel_build_id() + ")";
  out += "\n";
  if (report.window_size() > 0) {
    std::string window;
    for (const auto& w : report.window()) window += (window.empty() ? "" : ", ") + w;
    out += "window: " + window + " (" + std::to_string(report.window_addresses()) + " addresses)\n";
  }

  // Directions in the order they first appear; rows in trace order.
  std::vector<std::string> directions;
  std::map<std::string, std::vector<const pb::ExploredSchedule*>> rows;
  size_t point_width = 5;
  for (const pb::ExploredSchedule& s : report.schedules()) {
    std::string d = direction_name(s);
    if (!rows.count(d)) directions.push_back(d);
    rows[d].push_back(&s);
    point_width = std::max(point_width, point_name(s.point()).size());
  }
  for (auto& [d, list] : rows)
    std::stable_sort(list.begin(), list.end(), [&](const pb::ExploredSchedule* a, const pb::ExploredSchedule* b) {
      size_t pa = trace_position(report, *a), pb_ = trace_position(report, *b);
      return pa != pb_ ? pa < pb_ : a->index() < b->index();
    });
  for (const std::string& d : directions) {
    out += "\n" + d + "\n";
    out += "  " + pad("#", 5) + pad("point", point_width + 2) + pad("outcome", 16) + "time\n";
    for (const pb::ExploredSchedule* s : rows[d])
      out += "  " + pad(std::to_string(s->index()), 5) + pad(point_name(s->point()), point_width + 2) +
             pad(outcome_name(*s), 16) + duration_text(s->wall_ms()) + "\n";
  }

  std::map<std::string, int> counts;
  for (const pb::ExploredSchedule& s : report.schedules()) ++counts[outcome_name(s)];
  std::string totals;
  for (const char* name : kOutcomeOrder) {
    auto it = counts.find(name);
    if (it != counts.end())
      totals += (totals.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(it->second);
  }
  out += "\n";
  if (!totals.empty()) out += "outcomes: " + totals + "\n";
  const int done = report.schedules_size();
  std::string schedules = std::to_string(done) + (done == 1 ? " schedule" : " schedules");
  if (report.total() > done) schedules += " of " + std::to_string(report.total()) + " planned";
  out += schedules + ", trace " + duration_text(report.trace_ms()) + ", total " + duration_text(report.total_ms()) +
         "\n";

  std::vector<std::string> reproducing;
  for (const std::string& d : directions)
    for (const pb::ExploredSchedule* s : rows[d])
      if (s->verdict() == pb::REPRODUCED)
        reproducing.push_back(s->held() + " held at " + point_name(s->point()) + " (" + s->runner() + " runs)");
  if (reproducing.empty()) {
    out += "no point reproduced\n";
  } else {
    constexpr size_t kNamed = 8;
    std::string line = "reproduced at " + std::to_string(reproducing.size()) +
                       (reproducing.size() == 1 ? " point: " : " points: ");
    for (size_t i = 0; i < reproducing.size() && i < kNamed; ++i) line += (i ? "; " : "") + reproducing[i];
    if (reproducing.size() > kNamed) line += "; and " + std::to_string(reproducing.size() - kNamed) + " more";
    out += line + "\n";
  }
  return out;
}

}  // namespace racerig::explore
