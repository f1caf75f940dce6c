// A run's schedule as a timeline: one lane per actor (its vCPU), with the
// stretches it was held, ran, and waited asleep on a lock (serialization),
// the engine's steps as marks, and the moment the oops reached the console.
// Times are the run's own (TraceEvent.t_ms, RunReport.time_to_oops_ms:
// milliseconds since the run started).
#pragma once

#include <string>
#include <vector>

#include "proto/racerig.pb.h"

namespace racerig::report {

struct Segment {
  std::string kind;  // "run", "hold", "wait"
  double t0 = 0, t1 = 0;
  std::string label;  // what the stretch was: "held at __xfs_filemap_fault+0x12"
};

struct Mark {
  std::string what;  // the TraceEvent's what: held, released, blocked, crash_trap, ...
  double t = 0;
  std::string label;
};

struct Lane {
  std::string actor;
  int vcpu = -1;
  std::vector<Segment> segments;  // in time order, not overlapping
  std::vector<Mark> marks;        // at most kMaxMarksPerLane, in time order
};

struct Timeline {
  double t0 = 0, t1 = 0;    // the span drawn
  std::vector<Lane> lanes;  // one per actor, in the order the schedule first names them
  double oops_ms = 0;       // 0: no oops reached the console
  std::string oops_label;
};

inline constexpr int kMaxMarksPerLane = 200;

// The timeline of the engine's events of `report` (an actor runs from the
// schedule's first event to its first hold; held/reached/returned hold it,
// released runs it, blocked makes it wait, finished/ran_to_end/exited end
// its lane; an actor asleep runs again when another is released). Events
// without an actor mark the lane of their vCPU
// (crash_trap) or are left out. No events: no lanes.
Timeline build_timeline(const pb::RunReport& report);

// The timeline as HTML (no script needed): lanes with data-actor and
// data-vcpu, segments with data-kind, data-t0, data-t1, marks with
// data-what and data-t, the oops as a mark "oops" on every lane, an axis
// and a legend. Empty string when there are no lanes.
std::string render_timeline(const Timeline& timeline);

// The CSS render_timeline's HTML needs.
extern const char* const kTimelineStyle;

}  // namespace racerig::report
