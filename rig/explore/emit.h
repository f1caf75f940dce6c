// `racerig explore --emit-scenarios DIR`: each distinct reproducing schedule
// of an explore report as a ready scenario file, to reproduce or validate
// against on its own.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"

namespace racerig::explore {

// The file name of a schedule's scenario, without the directory:
// "<scenario>-<held>-<function>-<line>-v<visit>.textproto", every byte
// that is not a letter, digit, '.', '_' or '-' replaced by '_' and the stem
// kept under 200 bytes.
std::string scenario_file_name(const std::string& scenario, const pb::ExploredSchedule& schedule);

// Writes, for each REPRODUCED schedule of `report` that was not serialized
// (its crash forced by the schedule, not in the unforced part after a
// serialization) and whose steps no earlier
// one had, `base` with its schedule replaced by the schedule's steps, its
// explore {} block kept (its points, CodePoint.function, are named in that
// window) and its name set to the file's stem, under `dir`
// (created). Each file starts with a comment saying where it came from
// (scenario, kernel variant and build, direction, point, verdict, reason)
// and is loaded back with scenario::load_scenario before it is counted: a
// file that does not load is removed and is an error (kInput, naming the
// schedule and why). Names
// that would repeat get "-2", "-3", ...; a file of the same name already in
// `dir` is replaced. Returns the files written, in report order (none, and
// no directory, when nothing reproduced). Fails (kIo) when `dir` cannot be
// created or a file written; files written before an error stay.
Result<std::vector<std::filesystem::path>> emit_scenarios(const pb::ExploreReport& report, const pb::Scenario& base,
                                                          const std::filesystem::path& dir);

}  // namespace racerig::explore
