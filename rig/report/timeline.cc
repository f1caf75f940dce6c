// A run's schedule as a timeline (see timeline.h).
#include "rig/report/timeline.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "rig/report/html.h"

namespace racerig::report {

namespace {

bool holds(const std::string& what) { return what == "held" || what == "reached" || what == "returned"; }
bool ends(const std::string& what) { return what == "finished" || what == "ran_to_end" || what == "exited"; }
bool marked(const std::string& what) {
  return holds(what) || ends(what) || what == "released" || what == "blocked" || what == "serviced" ||
         what == "crash_trap";
}

std::string where_of(const pb::TraceEvent& e) {
  if (!e.symbol().empty()) return e.symbol();
  return e.detail();
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Percent of the span, for CSS.
std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f%%", v);
  return buf;
}

struct LaneState {
  size_t index = 0;
  std::string kind = "run";  // empty: ended
  double since = 0;
  std::string label;
};

}  // namespace

Timeline build_timeline(const pb::RunReport& report) {
  Timeline tl;
  bool any = false;
  for (const pb::TraceEvent& e : report.events()) {
    if (e.actor().empty() && e.what() != "crash_trap") continue;
    if (!any || e.t_ms() < tl.t0) tl.t0 = e.t_ms();
    if (!any || e.t_ms() > tl.t1) tl.t1 = e.t_ms();
    any = true;
  }
  if (!any) return tl;
  if (report.time_to_oops_ms() > 0) {
    tl.oops_ms = report.time_to_oops_ms();
    tl.oops_label = report.has_oops() ? report.oops().headline() : "oops";
    tl.t1 = std::max(tl.t1, tl.oops_ms);
  }
  // A little room after the last event so that a lane's end shows.
  tl.t1 += std::max(1.0, (tl.t1 - tl.t0) * 0.02);

  std::map<std::string, LaneState> state;
  auto close = [&](LaneState& s, double t) {
    if (s.kind.empty()) return;
    tl.lanes[s.index].segments.push_back(Segment{s.kind, s.since, std::max(t, s.since), s.label});
  };
  auto lane_of = [&](const std::string& actor) -> LaneState& {
    auto [it, inserted] = state.try_emplace(actor);
    if (inserted) {
      it->second.index = tl.lanes.size();
      it->second.since = tl.t0;
      it->second.label = actor + " runs to its first point";
      tl.lanes.push_back(Lane{actor, -1, {}, {}});
    }
    return it->second;
  };
  auto add_mark = [&](Lane& lane, const pb::TraceEvent& e) {
    if (static_cast<int>(lane.marks.size()) >= kMaxMarksPerLane) return;
    std::string label = e.what() + " at " + num(e.t_ms()) + " ms";
    const std::string where = where_of(e);
    if (!where.empty()) label += ": " + where;
    if (!e.detail().empty() && e.detail() != where) label += " (" + e.detail() + ")";
    lane.marks.push_back(Mark{e.what(), e.t_ms(), label});
  };
  for (const pb::TraceEvent& e : report.events()) {
    if (e.actor().empty()) {
      if (e.what() != "crash_trap") continue;
      for (Lane& lane : tl.lanes)
        if (lane.vcpu == e.vcpu()) add_mark(lane, e);
      continue;
    }
    LaneState& s = lane_of(e.actor());
    Lane& lane = tl.lanes[s.index];
    if (lane.vcpu < 0 && e.vcpu() >= 0) lane.vcpu = e.vcpu();
    const std::string& what = e.what();
    if (marked(what)) add_mark(lane, e);
    if (s.kind.empty()) continue;  // the actor's lane ended
    std::string next;
    std::string label;
    if (holds(what)) {
      next = "hold";
      label = "held at " + where_of(e);
    } else if (what == "released") {
      next = "run";
      label = "runs " + e.detail();
      // An actor asleep behind the held one can go on once it is released.
      for (auto& [other, o] : state)
        if (other != e.actor() && o.kind == "wait") {
          close(o, e.t_ms());
          o.kind = "run";
          o.since = e.t_ms();
          o.label = other + " can go on: " + e.actor() + " was released";
        }
    } else if (what == "blocked") {
      next = "wait";
      label = e.detail().empty() ? std::string("asleep on a lock") : e.detail();
    } else if (ends(what)) {
      close(s, e.t_ms());
      s.kind.clear();
      continue;
    } else {
      continue;
    }
    if (next == s.kind && next != "run") {
      s.label = label;
      continue;
    }
    close(s, e.t_ms());
    s.kind = next;
    s.since = e.t_ms();
    s.label = label;
  }
  for (auto& [actor, s] : state) close(s, tl.t1);
  return tl;
}

const char* const kTimelineStyle =
    ".timeline{margin:.6em 0;font-size:12px;max-width:70em}\n"
    ".tl-lane{display:flex;align-items:center;height:22px}\n"
    ".tl-name{width:11em;flex:none;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}\n"
    ".tl-track{position:relative;flex:1;height:16px;background:#f3f3f3;border:1px solid #ddd}\n"
    ".tl-seg{position:absolute;top:0;height:100%;min-width:2px}\n"
    ".tl-run{background:#7fb3e0}.tl-hold{background:#e0a33a}.tl-wait{background:#9e9e9e;"
    "background-image:repeating-linear-gradient(45deg,#9e9e9e 0 4px,#c8c8c8 4px 8px)}\n"
    ".tl-mk{position:absolute;top:-3px;width:2px;height:22px;background:#333}\n"
    ".tl-mk.m-released{background:#1565c0}.tl-mk.m-blocked{background:#555}\n"
    ".tl-mk.m-crash_trap,.tl-mk.m-oops{background:#c62828;width:3px}\n"
    ".tl-axis{display:flex;margin-left:11em;color:#666;justify-content:space-between}\n"
    ".tl-legend span{display:inline-block;width:1em;height:.8em;margin:0 .3em 0 1em;vertical-align:middle}\n";

std::string render_timeline(const Timeline& tl) {
  if (tl.lanes.empty()) return {};
  const double span = std::max(tl.t1 - tl.t0, 1e-6);
  auto at = [&](double t) { return pct(std::clamp((t - tl.t0) / span * 100.0, 0.0, 100.0)); };
  auto width = [&](double a, double b) { return pct(std::clamp((b - a) / span * 100.0, 0.0, 100.0)); };
  std::string out = "<div class=\"timeline\" data-t0=\"" + num(tl.t0) + "\" data-t1=\"" + num(tl.t1) + "\">\n";
  for (const Lane& lane : tl.lanes) {
    const std::string name = lane.actor + (lane.vcpu >= 0 ? " · vCPU " + std::to_string(lane.vcpu) : "");
    out += "<div class=\"tl-lane\" data-actor=\"" + html_escape(lane.actor) + "\" data-vcpu=\"" +
           std::to_string(lane.vcpu) + "\"><div class=\"tl-name\" title=\"" + html_escape(name) + "\">" +
           html_escape(name) + "</div><div class=\"tl-track\">";
    for (const Segment& s : lane.segments)
      out += "<div class=\"tl-seg tl-" + html_escape(s.kind) + "\" data-kind=\"" + html_escape(s.kind) +
             "\" data-t0=\"" + num(s.t0) + "\" data-t1=\"" + num(s.t1) + "\" style=\"left:" + at(s.t0) +
             ";width:" + width(s.t0, s.t1) + "\" title=\"" +
             html_escape(s.kind + " " + num(s.t0) + "–" + num(s.t1) + " ms: " + s.label) + "\"></div>";
    for (const Mark& m : lane.marks)
      out += "<div class=\"tl-mk m-" + html_escape(m.what) + "\" data-what=\"" + html_escape(m.what) + "\" data-t=\"" +
             num(m.t) + "\" style=\"left:" + at(m.t) + "\" title=\"" + html_escape(m.label) + "\"></div>";
    if (tl.oops_ms > 0)
      out += "<div class=\"tl-mk m-oops\" data-what=\"oops\" data-t=\"" + num(tl.oops_ms) +
             "\" style=\"left:" + at(tl.oops_ms) + "\" title=\"" +
             html_escape("oops at " + num(tl.oops_ms) + " ms: " + tl.oops_label) + "\"></div>";
    out += "</div></div>\n";
  }
  out += "<div class=\"tl-axis\"><span>" + num(tl.t0) + " ms</span><span>" + num(tl.t1) + " ms</span></div>\n";
  out +=
      "<div class=\"tl-legend\"><span class=\"tl-run\"></span>runs<span class=\"tl-hold\"></span>held"
      "<span class=\"tl-wait\"></span>asleep on a lock (serialized)<span style=\"background:#1565c0\"></span>"
      "released<span style=\"background:#c62828\"></span>oops";
  if (tl.oops_ms > 0) out += " at " + num(tl.oops_ms) + " ms";
  out += " (hover for times; ms since the run started)</div>\n</div>\n";
  return out;
}

}  // namespace racerig::report
