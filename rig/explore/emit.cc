// Reproducing schedules as scenario files (see emit.h).
#include "rig/explore/emit.h"

#include <set>
#include <string>
#include <string_view>
#include <system_error>

#include <google/protobuf/text_format.h>

#include "rig/base/file.h"
#include "rig/explore/map.h"
#include "rig/scenario/scenario.h"
#include "rig/verdict/verdict.h"

namespace racerig::explore {

namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxStem = 200;
constexpr std::string_view kExtension = ".textproto";

std::string sanitized(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == '-';
    out += keep ? static_cast<char>(c) : '_';
  }
  return out;
}

// A text on one comment line: newlines become spaces.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

// The steps as text, the identity of a schedule for "distinct".
std::string steps_key(const pb::ExploredSchedule& s) {
  std::string key;
  for (const pb::Step& st : s.schedule()) {
    std::string text;
    google::protobuf::TextFormat::Printer printer;
    printer.SetSingleLineMode(true);
    printer.PrintToString(st, &text);
    key += text + "\n";
  }
  return key;
}

std::string header(const pb::ExploreReport& report, const pb::ExploredSchedule& s) {
  std::string h = "# proto-file: proto/racerig.proto\n# proto-message: racerig.pb.Scenario\n#\n";
  h += "# Written by `racerig explore` from scenario \"" + one_line(report.scenario()) + "\" on kernel " +
       one_line(report.kernel_variant().empty() ? std::string("(unknown)") : report.kernel_variant());
  if (!report.kernel_build_id().empty()) h += " (build " + one_line(report.kernel_build_id()) + ")";
  h += ":\n";
  h += "# " + one_line(direction_name(s)) + "; held at " + one_line(schedule_points(s)) + " (schedule " +
       std::to_string(s.index()) + ").\n";
  h += "# Verdict there: " + std::string(verdict::verdict_name(s.verdict()));
  if (!s.reason().empty()) h += ": " + one_line(s.reason());
  h += "\n";
  return h;
}

}  // namespace

std::string scenario_file_name(const std::string& scenario, const pb::ExploredSchedule& s) {
  std::string stem = sanitized(scenario + "-" + s.held() + "-" + s.point().function() + "-" +
                               std::to_string(s.point().line()) + "-v" + std::to_string(s.point().visit()) +
                               (s.depth() == 2 ? "-" + s.runner() + "-" + std::to_string(s.runner_point().line()) +
                                                     "-v" + std::to_string(s.runner_point().visit())
                                               : ""));
  if (stem.size() > kMaxStem) stem.resize(kMaxStem);
  if (!stem.empty() && stem.front() == '.') stem.front() = '_';  // never a hidden file
  return stem + std::string(kExtension);
}

Result<std::vector<fs::path>> emit_scenarios(const pb::ExploreReport& report, const pb::Scenario& base,
                                             const fs::path& dir) {
  std::vector<fs::path> written;
  std::set<std::string> seen_steps;
  std::set<std::string> used_names;
  bool dir_made = false;
  for (const pb::ExploredSchedule& s : report.schedules()) {
    // A crash after a serialization is not forced by the schedule: a file of
    // it would reproduce by luck.
    if (s.verdict() != pb::REPRODUCED || s.serialized()) continue;
    if (!seen_steps.insert(steps_key(s)).second) continue;
    if (s.schedule_size() == 0)
      return make_error(ErrorKind::kInput, "explored schedule " + std::to_string(s.index()) + " (" +
                                               point_name(s.point()) + ") reproduced but has no steps to write");
    if (!dir_made) {
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec) return make_error(ErrorKind::kIo, "creating " + dir.string() + ": " + ec.message());
      dir_made = true;
    }
    const std::string scenario_name = base.name().empty() ? report.scenario() : base.name();
    std::string name = scenario_file_name(scenario_name, s);
    const std::string stem = name.substr(0, name.size() - kExtension.size());
    for (int n = 2; used_names.count(name); ++n) name = stem + "-" + std::to_string(n) + std::string(kExtension);
    used_names.insert(name);

    pb::Scenario out = base;
    // The explore window stays: the schedule's points are named in it.
    out.clear_schedule();
    for (const pb::Step& st : s.schedule()) *out.add_schedule() = st;
    out.set_name(name.substr(0, name.size() - kExtension.size()));
    std::string body;
    if (!google::protobuf::TextFormat::PrintToString(out, &body))
      return make_error(ErrorKind::kInternal, "could not print the scenario of schedule " + std::to_string(s.index()));
    const fs::path path = dir / name;
    RACERIG_TRY(write_file(path, header(report, s) + "\n" + body));
    auto loaded = scenario::load_scenario(path);
    if (!loaded.ok()) {
      std::error_code ignored;
      fs::remove(path, ignored);
      return make_error(ErrorKind::kInput, "the scenario written for explored schedule " + std::to_string(s.index()) +
                                               " (" + point_name(s.point()) + ") does not load: " +
                                               loaded.error().message);
    }
    written.push_back(path);
  }
  return written;
}

}  // namespace racerig::explore
