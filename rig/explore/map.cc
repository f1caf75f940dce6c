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

using Rows = std::vector<std::pair<std::string, std::vector<const pb::ExploredSchedule*>>>;

// The schedules grouped by direction (in the order directions first
// appear), each group in the order of the held actor's trace (points not in
// the trace last), then by index.
Rows ordered_rows(const pb::ExploreReport& report) {
  std::map<std::string, size_t> position;  // point key -> place in the trace
  for (int i = 0; i < report.trace_size(); ++i)
    position.emplace(point_key(report.trace(i).actor(), report.trace(i)), static_cast<size_t>(i));
  auto place = [&](const pb::ExploredSchedule* s) {
    auto it = position.find(point_key(s->held(), s->point()));
    return it == position.end() ? position.size() : it->second;
  };
  Rows rows;
  std::map<std::string, size_t> group;  // direction -> index in rows
  for (const pb::ExploredSchedule& s : report.schedules()) {
    std::string d = direction_name(s);
    auto [it, inserted] = group.emplace(d, rows.size());
    if (inserted) rows.emplace_back(d, std::vector<const pb::ExploredSchedule*>{});
    rows[it->second].second.push_back(&s);
  }
  for (auto& [d, list] : rows)
    std::stable_sort(list.begin(), list.end(), [&](const pb::ExploredSchedule* a, const pb::ExploredSchedule* b) {
      size_t pa = place(a), pb_ = place(b);
      return pa != pb_ ? pa < pb_ : a->index() < b->index();
    });
  return rows;
}

// The summary line of ordered rows.
std::string summary_of(const Rows& rows) {
  std::vector<std::string> reproducing;
  for (const auto& [d, list] : rows)
    for (const pb::ExploredSchedule* s : list)
      if (s->verdict() == pb::REPRODUCED)
        reproducing.push_back(s->depth() == 2 ? s->held() + " held at " + point_name(s->point()) + ", " + s->runner() +
                                                  " to " + point_name(s->runner_point()) + ", then " + s->held() +
                                                  " finishes"
                                            : s->held() + " held at " + point_name(s->point()) + " (" + s->runner() +
                                                  " runs)");
  if (reproducing.empty()) return "no point reproduced";
  constexpr size_t kNamed = 8;
  std::string line = "reproduced at " + std::to_string(reproducing.size()) +
                     (reproducing.size() == 1 ? " point: " : " points: ");
  for (size_t i = 0; i < reproducing.size() && i < kNamed; ++i) line += (i ? "; " : "") + reproducing[i];
  if (reproducing.size() > kNamed) line += "; and " + std::to_string(reproducing.size() - kNamed) + " more";
  return line;
}

std::string pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

// The outcomes in the order the totals list them.
const char* const kOutcomeOrder[] = {"REPRODUCED", "REPRODUCED after serialization", "DEADLOCK", "OTHER_OOPS",
                                     "NOT_REPRODUCED", "serialized",
                                     "not reached", "STALLED", "INFRA_ERROR", "UNKNOWN"};

}  // namespace

std::string point_name(const pb::ExplorePoint& point) {
  std::string out = point.function();
  if (!point.file().empty()) out += (out.empty() ? "" : " ") + point.file() + ":" + std::to_string(point.line());
  out += (out.empty() ? "#" : " #") + std::to_string(point.visit());
  return out;
}

std::string point_key(const std::string& actor, const pb::ExplorePoint& p) {
  return actor + '\n' + p.function() + '\n' + p.file() + '\n' + std::to_string(p.line()) + '\n' +
         std::to_string(p.visit());
}

std::string outcome_name(const pb::ExploredSchedule& s) {
  if (s.verdict() == pb::NOT_REPRODUCED && s.serialized()) return "serialized";
  // The crash came in the unforced part, after the kernel serialized the
  // schedule: real, but the schedule does not force it (measured: such
  // tails differ between two explores of the same kernel).
  if (s.verdict() == pb::REPRODUCED && s.serialized()) return "REPRODUCED after serialization";
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

std::string schedule_points(const pb::ExploredSchedule& s) {
  if (s.depth() != 2) return point_name(s.point());
  return point_name(s.point()) + "; " + s.runner() + " at " + point_name(s.runner_point());
}

std::string direction_name(const pb::ExploredSchedule& s) {
  if (s.depth() == 2) return s.held() + " held, " + s.runner() + " to a point, " + s.held() + " finishes";
  return s.held() + " held, " + s.runner() + " runs";
}

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

std::string summary_line(const pb::ExploreReport& report) { return summary_of(ordered_rows(report)); }

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

  const Rows rows = ordered_rows(report);
  size_t point_width = 5;
  for (const pb::ExploredSchedule& s : report.schedules())
    point_width = std::max(point_width, schedule_points(s).size());
  for (const auto& [d, list] : rows) {
    out += "\n" + d + "\n";
    out += "  " + pad("#", 5) + pad("point", point_width + 2) + pad("outcome", 32) + "time\n";
    for (const pb::ExploredSchedule* s : list)
      out += "  " + pad(std::to_string(s->index()), 5) + pad(schedule_points(*s), point_width + 2) +
             pad(outcome_name(*s), 32) + duration_text(s->wall_ms()) + "\n";
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
  if (report.depth() == 2) {
    out += "depth 2: " + std::to_string(report.depth2_planned()) + " of " +
           std::to_string(report.depth2_candidates()) + " pairs of points planned (" +
           std::to_string(report.depth2_candidates() - report.depth2_planned()) + " pruned by depth 1)";
    if (report.depth2_stopped_at_failure()) out += "; stopped at the first failure";
    out += "\n";
  }

  out += summary_of(rows) + "\n";
  return out;
}

}  // namespace racerig::explore
