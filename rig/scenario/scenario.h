// Scenario files: protobuf text format (message racerig.pb.Scenario) under
// scenarios/. Loading reports parse errors as file:line:col; validation
// reports semantic errors (unknown actor, impossible CPU, missing point, a
// bad explore window) at the line of the offending field, with a
// suggestion; resolution turns code points into addresses through the
// kernel's symbols before any VM boots.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/text_format.h>

#include "proto/racerig.pb.h"
#include "rig/base/guest_addr.h"
#include "rig/base/result.h"
#include "rig/schedule/engine.h"

namespace racerig::scenario {

struct LoadedScenario {
  std::filesystem::path path;
  pb::Scenario scenario;
  // Where each field was written (for messages). Owned here.
  std::shared_ptr<google::protobuf::TextFormat::ParseInfoTree> where;
  // The VM's vCPU count the scenario was checked against: the one asked
  // for, else the scenario's own (machine_cpus). load_scenario sets it; the
  // run uses it (run::prepare_run), so it is decided once.
  int vcpus = 0;
};

// Finds a scenario by file path, or by NAME under <scenarios_dir>/NAME.textproto.
// Unknown names are kInput errors listing the known ones.
Result<std::filesystem::path> find_scenario(std::string_view name_or_file,
                                            const std::filesystem::path& scenarios_dir);
// Finds a scenario by NAME under <scenarios_dir>/NAME.textproto only, never
// as a file elsewhere (racerigd's catalogue). kInput for a name with a '/'
// or a leading '.', and for unknown names (listing the known ones).
Result<std::filesystem::path> find_named_scenario(std::string_view name, const std::filesystem::path& scenarios_dir);
std::vector<std::string> list_scenarios(const std::filesystem::path& scenarios_dir);

// Parses and validates. Errors are kInput and start with "file:line:col:".
// `vcpus` is the number of vCPUs the VM will have; 0: the scenario's own
// count (machine_cpus). The count checked against is kept in the result's
// `vcpus`.
Result<LoadedScenario> load_scenario(const std::filesystem::path& path, int vcpus = 0);

// Where a program's C source is: Program.source relative to the scenario
// file's directory (an absolute source stays as it is).
std::filesystem::path program_source(const LoadedScenario& loaded, const pb::Program& program);

// The scenario's vCPU count: machine.cpus, else the highest actor CPU + 1,
// at least 2.
int machine_cpus(const pb::Scenario& scenario);
// The scenario's RAM in MiB: machine.memory_mb, else 512.
int machine_memory_mb(const pb::Scenario& scenario);

// The most arrivals a hold or run may count (Hold.visit, Run.visit): more is
// a typo or a loop the schedule should not wait out.
inline constexpr int kMaxVisit = 100000;

// The actors `explore { }` explores: its `actors`, or every actor of the
// workload (in workload order) when that list is empty.
std::vector<std::string> explored_actors(const pb::Scenario& scenario);

// One `explore { lines: ... }` entry: source lines first..last (1-based,
// inclusive) of `file` as written ("fs/xfs/xfs_file.c").
struct LineRange {
  std::string file;
  int first = 0;
  int last = 0;
};
// Parses "path:first-last" or "path:N" (first = last = N). Requires a
// non-empty path and 0 < first <= last; otherwise a kInput error that quotes
// the text and says what was expected (no file:line: callers add it).
Result<LineRange> parse_line_range(std::string_view text);

// A code point resolved in a kernel's symbols.
struct ResolvedPoint {
  GuestAddr addr;
  std::string function;
  uint64_t offset = 0;
  std::vector<GuestAddr> addrs;  // every address of the point (empty: just addr)
};
// Resolves one point: `symbol`, `line`, or `line` within `function` of the
// scenario's explore window (CodePoint.function).
using PointResolver = std::function<Result<ResolvedPoint>(const pb::CodePoint& point)>;

// Turns the schedule into engine steps. A point that does not resolve is a
// kInput error at its line, carrying the resolver's message (which suggests
// near names). Hold.visit and Run.visit become Step::visit (0 and 1: the
// first arrival); Run.until_done becomes Step::Kind::kRunToEnd.
Result<std::vector<schedule::Step>> resolve_schedule(const LoadedScenario& loaded,
                                                     const PointResolver& resolve);
std::vector<schedule::Actor> actors_of(const pb::Scenario& scenario);

// "arg3 == 1" style rendering of a predicate; register of a 1-based SysV
// argument ("rdx" for 3), or "" when out of range.
std::string predicate_text(const pb::Predicate& p);
std::string arg_register(uint32_t arg);

}  // namespace racerig::scenario
