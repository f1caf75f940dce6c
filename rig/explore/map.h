// The explore map as text: the names every rendering of an explore report
// uses (a point, a schedule's outcome, its direction, a step) and the table
// `racerig explore` prints in a terminal.
#pragma once

#include <string>

#include "proto/racerig.pb.h"

namespace racerig::explore {

// A point's stable name: "__xfs_filemap_fault fs/xfs/xfs_file.c:1348 #1"
// (function, file:line, visit). An empty function or file is left out.
std::string point_name(const pb::ExplorePoint& point);

// A key that is equal for the same point of the same actor and differs
// otherwise (its actor, function, file, line and visit): for maps and sets.
std::string point_key(const std::string& actor, const pb::ExplorePoint& point);

// A schedule's outcome label: the verdict's name (REPRODUCED, DEADLOCK,
// OTHER_OOPS, STALLED, INFRA_ERROR, NOT_REPRODUCED), except "serialized" for
// a NOT_REPRODUCED run that serialized, "REPRODUCED after serialization"
// for a crash in the unforced part after it serialized, and "not reached" for
// SCHEDULE_NOT_REACHED; "UNKNOWN" for an unset verdict.
std::string outcome_name(const pb::ExploredSchedule& schedule);

// How bad an outcome is for the kernel, for colouring and ordering: the
// worst first. Every schedule has exactly one.
enum class Severity {
  kReproduced = 5,  // REPRODUCED
  kFailed = 4,      // DEADLOCK, OTHER_OOPS
  kSerialized = 3,  // NOT_REPRODUCED, serialized
  kPassed = 2,      // NOT_REPRODUCED
  kInconclusive = 1,  // not reached, STALLED, INFRA_ERROR, UNKNOWN
};
Severity severity(const pb::ExploredSchedule& schedule);

// A schedule's points: its held point's name; at depth 2 also where the
// runner was held: "P; flipper at Q".
std::string schedule_points(const pb::ExploredSchedule& schedule);

// A schedule's direction: "faulter held, flipper runs"; depth 2: "faulter
// held, flipper to a point, faulter finishes".
std::string direction_name(const pb::ExploredSchedule& schedule);

// One schedule step as a line of text: "hold faulter at fs/xfs/xfs_file.c:1348
// #2", "run flipper until done", "release faulter", "release everyone".
std::string step_text(const pb::Step& step);

// A duration for people: "850 ms" below 10 s, else "12.3 s".
std::string duration_text(double ms);

// One line naming the reproducing points, in the table's order (at most
// eight, then "and N more"): "reproduced at 2 points: faulter held at
// __xfs_filemap_fault fs/xfs/xfs_file.c:1348 #1 (flipper runs); ...", or
// "no point reproduced". No newline.
std::string summary_line(const pb::ExploreReport& report);

// The table users read: the error first when the report has one; then one
// row per schedule (point, outcome, wall time), grouped by direction in the
// order directions first appear, rows in trace order; then the count of
// each outcome, the number of schedules (of how many planned), the trace
// and total times, and one line naming the reproducing points (or "no point
// reproduced"). Ends with a newline.
std::string render_map(const pb::ExploreReport& report);

}  // namespace racerig::explore
