// Scenario loading, validation and resolution.
#include "rig/scenario/scenario.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <functional>
#include <set>

#include "guest/agent/storage.h"
#include "proto/text_format.h"
#include "rig/base/file.h"

namespace racerig::scenario {

namespace gp = google::protobuf;

namespace {

constexpr char kExtension[] = ".textproto";

// A path of (field name, index) from the root of the scenario message to a
// field, for looking up where it was written.
struct FieldRef {
  const char* name;
  int index = -1;
};

class Locator {
 public:
  Locator(const LoadedScenario& s) : s_(s) {}  // NOLINT

  // "file:line:col" of the deepest field of `path` that was written.
  std::string at(std::initializer_list<FieldRef> path) const {
    const gp::Descriptor* d = pb::Scenario::descriptor();
    const gp::TextFormat::ParseInfoTree* tree = s_.where.get();
    gp::TextFormat::ParseLocation best{-1, -1};
    for (const FieldRef& ref : path) {
      if (d == nullptr || tree == nullptr) break;
      const gp::FieldDescriptor* f = d->FindFieldByName(ref.name);
      if (f == nullptr) break;
      int index = f->is_repeated() ? std::max(ref.index, 0) : -1;
      gp::TextFormat::ParseLocation loc = tree->GetLocation(f, index);
      if (loc.line >= 0) best = loc;
      if (f->type() != gp::FieldDescriptor::TYPE_MESSAGE) break;
      tree = tree->GetTreeForNested(f, index);
      d = f->message_type();
    }
    std::string out = s_.path.string();
    if (best.line >= 0) out += ":" + std::to_string(best.line + 1) + ":" + std::to_string(best.column + 1);
    return out;
  }

 private:
  const LoadedScenario& s_;
};

Error input_error(const std::string& where, const std::string& what) {
  return make_error(ErrorKind::kInput, where + ": " + what);
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& known) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& k : known) {
    size_t d = edit_distance(name, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  std::string out = " (known: ";
  for (size_t i = 0; i < known.size(); ++i) out += (i ? ", " : "") + known[i];
  out += ")";
  if (!best.empty() && best_d <= std::max<size_t>(2, name.size() / 3)) out = "; did you mean \"" + best + "\"?" + out;
  return out;
}

const std::set<std::string>& known_registers() {
  static const std::set<std::string> regs = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8",
                                             "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip", "eflags"};
  return regs;
}

Status check_point(const Locator& loc, std::initializer_list<FieldRef> path, const pb::CodePoint& p,
                   const char* what) {
  bool has_symbol = !p.symbol().empty(), has_line = !p.line().empty();
  if (has_symbol == has_line)
    return input_error(loc.at(path), std::string(what) +
                                         " needs exactly one of `symbol` (\"name\" or \"name+0x10\") or "
                                         "`line` (\"fs/xfs/xfs_file.c:1234\")");
  if (has_line && p.line().find(':') == std::string::npos)
    return input_error(loc.at(path), "line \"" + p.line() + "\" is not file:line");
  if (!p.function().empty() && !has_line)
    return input_error(loc.at(path), std::string(what) + ": `function` names an explored point and needs `line`");
  return Status::Ok();
}

Status check_predicates(const Locator& loc, int step, const char* action,
                        const gp::RepeatedPtrField<pb::Predicate>& when) {
  for (int j = 0; j < when.size(); ++j) {
    const pb::Predicate& p = when[j];
    std::string where = loc.at({{"schedule", step}, {action, -1}, {"when", j}});
    bool has_arg = p.arg() != 0, has_reg = !p.reg().empty();
    if (has_arg == has_reg) return input_error(where, "a predicate needs exactly one of `arg` (1-6) or `reg`");
    if (has_arg && arg_register(p.arg()).empty())
      return input_error(where, "arg " + std::to_string(p.arg()) +
                                    " is out of range: x86-64 passes arguments 1-6 in registers");
    if (has_reg && known_registers().count(p.reg()) == 0) {
      std::vector<std::string> regs(known_registers().begin(), known_registers().end());
      return input_error(where, "unknown register \"" + p.reg() + "\"" + did_you_mean(p.reg(), regs));
    }
  }
  return Status::Ok();
}

// Hold.visit / Run.visit: 0 and 1 mean the first arrival; above kMaxVisit
// is an input error at the field.
Status check_visit(const Locator& loc, int step, const char* action, uint32_t visit) {
  if (visit <= static_cast<uint32_t>(kMaxVisit)) return Status::Ok();
  return input_error(loc.at({{"schedule", step}, {action, -1}, {"visit", -1}}),
                     std::string(action) + " `visit` " + std::to_string(visit) + " is above " +
                         std::to_string(kMaxVisit) + ": count the arrivals to wait for (1: the first)");
}

// The run's target: exactly one of until / until_return / until_done, and
// only the fields that make sense with it. Reported at the offending field.
Status check_run_mode(const Locator& loc, int step, const pb::Run& r) {
  auto at = [&](const char* field) { return loc.at({{"schedule", step}, {"run", -1}, {field, -1}}); };
  if (r.until_done()) {
    const char* other = r.has_until()        ? "until"
                        : r.until_return()   ? "until_return"
                        : !r.when().empty()  ? "when"
                        : r.visit() != 0     ? "visit"
                                             : nullptr;
    if (other != nullptr)
      return input_error(at(other), std::string("`until_done` cannot be combined with `") + other +
                                        "`: a run until done has no point to stop at");
    return Status::Ok();
  }
  if (r.until_return()) {
    const char* other = r.has_until()       ? "until"
                        : !r.when().empty() ? "when"
                        : r.visit() != 0    ? "visit"
                                            : nullptr;
    if (other != nullptr)
      return input_error(at(other), std::string("`until_return` cannot be combined with `") + other +
                                        "`: it runs to the return of the function the actor is stopped in");
    return Status::Ok();
  }
  if (!r.has_until())
    return input_error(loc.at({{"schedule", step}, {"run", -1}}),
                       "a run needs exactly one of `until { ... }`, `until_return: true` or `until_done: true`");
  return Status::Ok();
}

// explore { actors functions lines }: known, distinct actors on distinct
// CPUs (at least two), and a non-empty window of well-formed names/ranges.
Status check_explore(const Locator& loc, const pb::Scenario& sc, const std::map<std::string, int>& cpu_of,
                     const std::vector<std::string>& names) {
  if (!sc.has_explore()) return Status::Ok();
  const pb::Explore& ex = sc.explore();
  std::map<int, std::string> explored_cpu;  // vCPU -> explored actor
  for (int i = 0; i < ex.actors_size(); ++i) {
    const std::string& name = ex.actors(i);
    std::string where = loc.at({{"explore", -1}, {"actors", i}});
    auto it = cpu_of.find(name);
    if (it == cpu_of.end())
      return input_error(where, "explore: unknown actor \"" + name + "\"" + did_you_mean(name, names));
    if (std::find(ex.actors().begin(), ex.actors().begin() + i, name) != ex.actors().begin() + i)
      return input_error(where, "explore: actor \"" + name + "\" is listed twice");
  }
  std::vector<std::string> explored = explored_actors(sc);
  if (explored.size() < 2) {
    if (ex.actors().empty())
      return input_error(loc.at({{"explore", -1}}),
                         "explore needs at least two actors (it holds one while another runs), but the workload "
                         "has " + std::to_string(explored.size()));
    return input_error(loc.at({{"explore", -1}, {"actors", 0}}),
                       "explore needs at least two actors (it holds one while another runs); list another or "
                       "leave `actors` out to explore every actor");
  }
  for (size_t i = 0; i < explored.size(); ++i) {
    int cpu = cpu_of.at(explored[i]);
    auto [other, inserted] = explored_cpu.emplace(cpu, explored[i]);
    if (!inserted)
      return input_error(ex.actors().empty() ? loc.at({{"explore", -1}})
                                             : loc.at({{"explore", -1}, {"actors", static_cast<int>(i)}}),
                         "explore: actors \"" + other->second + "\" and \"" + explored[i] + "\" share CPU " +
                             std::to_string(cpu) + ": holding one would hold the other; pin them to different CPUs");
  }
  if (ex.functions().empty() && ex.lines().empty())
    return input_error(loc.at({{"explore", -1}}),
                       "explore needs a window: at least one `functions: \"name\"` or `lines: \"file:first-last\"`");
  for (int i = 0; i < ex.functions_size(); ++i) {
    const std::string& f = ex.functions(i);
    std::string where = loc.at({{"explore", -1}, {"functions", i}});
    if (f.empty()) return input_error(where, "explore: function " + std::to_string(i + 1) + " is empty");
    if (std::any_of(f.begin(), f.end(), [](unsigned char c) { return std::isspace(c) != 0; }))
      return input_error(where, "explore: function \"" + f + "\" contains a space: give one function name");
  }
  for (int i = 0; i < ex.lines_size(); ++i) {
    auto r = parse_line_range(ex.lines(i));
    if (!r.ok()) return input_error(loc.at({{"explore", -1}, {"lines", i}}), "explore: " + r.error().message);
  }
  return Status::Ok();
}

// Scenario.programs: named, unique, names usable as a file name, sources
// that exist (relative to the scenario file); every exec op (prepare,
// actors, check) names one of them.
Status check_programs(const LoadedScenario& s, const Locator& loc) {
  const pb::Scenario& sc = s.scenario;
  std::vector<std::string> names;
  for (int i = 0; i < sc.programs_size(); ++i) {
    const pb::Program& p = sc.programs(i);
    const std::string where = loc.at({{"programs", i}, {"name", -1}});
    if (p.name().empty()) return input_error(where, "program " + std::to_string(i + 1) + " has no `name`");
    if (p.name().size() > 64 || p.name().find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != std::string::npos || p.name()[0] == '.')
      return input_error(where, "program name \"" + p.name() + "\" must be 1-64 of [A-Za-z0-9_.-], not starting with '.'");
    if (std::find(names.begin(), names.end(), p.name()) != names.end())
      return input_error(where, "program \"" + p.name() + "\" is declared twice");
    names.push_back(p.name());
    const std::string src_at = loc.at({{"programs", i}, {"source", -1}});
    if (p.source().empty()) return input_error(src_at, "program \"" + p.name() + "\" has no `source`");
    const std::filesystem::path source = program_source(s, p);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(source, ec))
      return input_error(src_at, "program \"" + p.name() + "\": source " + source.string() + " is not a file");
  }
  // `where(j)`: the location of op j's exec.program.
  auto check_ops = [&](const gp::RepeatedPtrField<pb::Op>& ops, const std::function<std::string(int)>& where) -> Status {
    for (int j = 0; j < ops.size(); ++j) {
      if (!ops[j].has_exec()) continue;
      const std::string& name = ops[j].exec().program();
      if (std::find(names.begin(), names.end(), name) != names.end()) continue;
      return input_error(where(j), name.empty() ? std::string("exec needs a `program`")
                                                : "exec: unknown program \"" + name + "\"" + did_you_mean(name, names) +
                                                      (names.empty() ? " (the scenario has no `programs`)" : ""));
    }
    return Status::Ok();
  };
  for (const char* list : {"prepare", "check"}) {
    const auto& ops = std::string(list) == "prepare" ? sc.workload().prepare() : sc.workload().check();
    RACERIG_TRY(check_ops(ops, [&](int j) {
      return loc.at({{"workload", -1}, {list, j}, {"exec", -1}, {"program", -1}});
    }));
  }
  for (int i = 0; i < sc.workload().actors_size(); ++i)
    RACERIG_TRY(check_ops(sc.workload().actors(i).ops(), [&](int j) {
      return loc.at({{"workload", -1}, {"actors", i}, {"ops", j}, {"exec", -1}, {"program", -1}});
    }));
  return Status::Ok();
}

Status validate(const LoadedScenario& s, int vcpus) {
  const pb::Scenario& sc = s.scenario;
  Locator loc(s);
  if (sc.name().empty()) return input_error(loc.at({}), "the scenario needs a `name`");
  RACERIG_TRY(check_programs(s, loc));
  {
    std::string field;
    auto storage = agent::resolve_storage(sc.workload().setup(), &field);
    if (!storage.ok())
      return input_error(loc.at({{"workload", -1}, {"setup", -1}, {field.c_str(), -1}}), storage.error().message);
  }
  std::map<std::string, int> cpu_of;
  std::vector<std::string> names;
  const auto& actors = sc.workload().actors();
  for (int i = 0; i < actors.size(); ++i) {
    const pb::Actor& a = actors[i];
    std::string where = loc.at({{"workload", -1}, {"actors", i}, {"name", -1}});
    if (a.name().empty()) return input_error(where, "actor " + std::to_string(i + 1) + " has no name");
    if (a.name().size() > 15)
      return input_error(where, "actor name \"" + a.name() +
                                    "\" is longer than 15 bytes; the kernel's comm would truncate it");
    if (cpu_of.count(a.name()) != 0) return input_error(where, "actor \"" + a.name() + "\" is declared twice");
    if (a.cpu() < 0 || a.cpu() >= vcpus)
      return input_error(loc.at({{"workload", -1}, {"actors", i}, {"cpu", -1}}),
                         "actor \"" + a.name() + "\" is pinned to CPU " + std::to_string(a.cpu()) +
                             " but the VM has " + std::to_string(vcpus) + " vCPUs (0-" +
                             std::to_string(vcpus - 1) + ")");
    if (a.ops().empty()) return input_error(where, "actor \"" + a.name() + "\" has no ops");
    cpu_of[a.name()] = a.cpu();
    names.push_back(a.name());
  }
  std::map<int, std::string> scheduled_cpu;  // vCPU -> scheduled actor
  auto check_actor = [&](int step, const char* action, const std::string& name, bool allow_empty) -> Status {
    std::string where = loc.at({{"schedule", step}, {action, -1}, {"actor", -1}});
    if (name.empty()) {
      if (allow_empty) return Status::Ok();
      return input_error(where, std::string(action) + " needs an `actor`");
    }
    auto it = cpu_of.find(name);
    if (it == cpu_of.end()) return input_error(where, "unknown actor \"" + name + "\"" + did_you_mean(name, names));
    auto [other, inserted] = scheduled_cpu.emplace(it->second, name);
    if (!inserted && other->second != name)
      return input_error(where, "actors \"" + other->second + "\" and \"" + name + "\" share CPU " +
                                    std::to_string(it->second) +
                                    ": holding one would hold the other; pin them to different CPUs");
    return Status::Ok();
  };
  std::set<std::string> has_point;  // actors that were stopped somewhere
  std::map<std::string, int> done_at;  // actors run until_done -> that step
  for (int i = 0; i < sc.schedule_size(); ++i) {
    const pb::Step& st = sc.schedule(i);
    // An actor that finished its operations has nothing left to hold or run.
    const char* moving = st.has_hold() ? "hold" : st.has_run() ? "run" : nullptr;
    if (moving != nullptr) {
      const std::string& name = st.has_hold() ? st.hold().actor() : st.run().actor();
      auto done = done_at.find(name);
      if (done != done_at.end())
        return input_error(loc.at({{"schedule", i}, {moving, -1}, {"actor", -1}}),
                           "\"" + name + "\" already finished its operations (run until_done, step " +
                               std::to_string(done->second + 1) + "): it cannot be held or run again");
    }
    switch (st.action_case()) {
      case pb::Step::kHold:
        RACERIG_TRY(check_actor(i, "hold", st.hold().actor(), false));
        RACERIG_TRY(check_point(loc, {{"schedule", i}, {"hold", -1}, {"at", -1}}, st.hold().at(), "hold `at`"));
        RACERIG_TRY(check_predicates(loc, i, "hold", st.hold().when()));
        RACERIG_TRY(check_visit(loc, i, "hold", st.hold().visit()));
        has_point.insert(st.hold().actor());
        break;
      case pb::Step::kRun: {
        const pb::Run& r = st.run();
        RACERIG_TRY(check_actor(i, "run", r.actor(), false));
        RACERIG_TRY(check_run_mode(loc, i, r));
        if (r.until_done()) {
          has_point.erase(r.actor());
          done_at.emplace(r.actor(), i);
        } else if (r.until_return()) {
          if (has_point.count(r.actor()) == 0)
            return input_error(loc.at({{"schedule", i}, {"run", -1}}),
                               "\"" + r.actor() +
                                   "\" must first be stopped at a point (hold or run until) before it can run "
                                   "until_return");
        } else {
          RACERIG_TRY(check_point(loc, {{"schedule", i}, {"run", -1}, {"until", -1}}, r.until(), "run `until`"));
          RACERIG_TRY(check_predicates(loc, i, "run", r.when()));
          RACERIG_TRY(check_visit(loc, i, "run", r.visit()));
          has_point.insert(r.actor());
        }
        break;
      }
      case pb::Step::kRelease:
        RACERIG_TRY(check_actor(i, "release", st.release().actor(), true));
        break;
      default:
        return input_error(loc.at({{"schedule", i}}), "a schedule step needs one of hold, run, release");
    }
  }
  RACERIG_TRY(check_explore(loc, sc, cpu_of, names));
  if ((sc.schedule_size() > 0 || sc.has_explore()) && sc.expect().oops().empty() && !sc.expect().guest_check_fails())
    return input_error(loc.at({{"expect", -1}}),
                       "the scenario has no expectation: add `expect { oops { function: \"...\" } }` or "
                       "`expect { guest_check_fails: true }`");
  return Status::Ok();
}

}  // namespace

std::vector<std::string> explored_actors(const pb::Scenario& scenario) {
  std::vector<std::string> out(scenario.explore().actors().begin(), scenario.explore().actors().end());
  if (out.empty())
    for (const auto& a : scenario.workload().actors()) out.push_back(a.name());
  return out;
}

Result<LineRange> parse_line_range(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorKind::kInput, "line range \"" + std::string(text) + "\" " + why +
                                             " (expected \"path:first-last\" or \"path:N\", e.g. "
                                             "\"fs/xfs/xfs_file.c:1340-1376\")");
  };
  // A positive decimal line number, the whole of `digits`.
  auto number = [](std::string_view digits) -> std::optional<int> {
    int v = 0;
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return v;
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("has no ':'");
  LineRange out;
  out.file = std::string(text.substr(0, colon));
  if (out.file.empty()) return bad("has no path");
  std::string_view lines = text.substr(colon + 1);
  size_t dash = lines.find('-');
  std::optional<int> first = number(lines.substr(0, dash));
  std::optional<int> last = dash == std::string_view::npos ? first : number(lines.substr(dash + 1));
  if (!first || !last) return bad("has no line numbers after the ':'");
  if (*first == 0) return bad("starts at line 0; lines count from 1");
  if (*first > *last)
    return bad("ends before it starts (" + std::to_string(*first) + " > " + std::to_string(*last) + ")");
  out.first = *first;
  out.last = *last;
  return out;
}

std::string arg_register(uint32_t arg) {
  static const char* regs[] = {"rdi", "rsi", "rdx", "rcx", "r8", "r9"};
  return arg >= 1 && arg <= 6 ? regs[arg - 1] : "";
}

std::string predicate_text(const pb::Predicate& p) {
  static const char* ops[] = {"==", "!=", "<", ">"};
  std::string lhs = p.arg() != 0 ? "arg" + std::to_string(p.arg()) : p.reg();
  return lhs + " " + ops[p.cmp() & 3] + " " + std::to_string(p.value());
}

std::vector<std::string> list_scenarios(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == kExtension) out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::filesystem::path> find_scenario(std::string_view name_or_file, const std::filesystem::path& dir) {
  std::filesystem::path p(name_or_file);
  std::error_code ec;
  if (std::filesystem::is_regular_file(p, ec)) return p;
  std::filesystem::path named = dir / (std::string(name_or_file) + kExtension);
  if (std::filesystem::is_regular_file(named, ec)) return named;
  auto known = list_scenarios(dir);
  return make_error(ErrorKind::kInput, "no scenario file or name \"" + std::string(name_or_file) + "\" in " +
                                           dir.string() + did_you_mean(name_or_file, known));
}

Result<std::filesystem::path> find_named_scenario(std::string_view name, const std::filesystem::path& dir) {
  if (name.empty() || name.find('/') != std::string_view::npos || name[0] == '.')
    return make_error(ErrorKind::kInput, "\"" + std::string(name) + "\" is not a scenario name");
  std::filesystem::path named = dir / (std::string(name) + kExtension);
  std::error_code ec;
  if (std::filesystem::is_regular_file(named, ec)) return named;
  auto known = list_scenarios(dir);
  return make_error(ErrorKind::kInput,
                    "no scenario named \"" + std::string(name) + "\" in " + dir.string() + did_you_mean(name, known));
}

Result<LoadedScenario> load_scenario(const std::filesystem::path& path, int vcpus) {
  RACERIG_ASSIGN(std::string text, read_file(path, "scenario"));
  LoadedScenario out;
  out.path = path;
  out.where = std::make_shared<gp::TextFormat::ParseInfoTree>();
  RACERIG_TRY(proto::parse_text_format(text, path.string(), &out.scenario, out.where.get()));
  out.vcpus = vcpus > 0 ? vcpus : machine_cpus(out.scenario);
  RACERIG_TRY(validate(out, out.vcpus));
  return out;
}

std::filesystem::path program_source(const LoadedScenario& loaded, const pb::Program& program) {
  const std::filesystem::path source(program.source());
  if (source.is_absolute()) return source;
  return loaded.path.parent_path() / source;
}

int machine_cpus(const pb::Scenario& scenario) {
  if (scenario.machine().cpus() > 0) return static_cast<int>(scenario.machine().cpus());
  int highest = 0;
  for (const auto& a : scenario.workload().actors()) highest = std::max(highest, a.cpu());
  return std::max(2, highest + 1);
}

int machine_memory_mb(const pb::Scenario& scenario) {
  return scenario.machine().memory_mb() > 0 ? static_cast<int>(scenario.machine().memory_mb()) : 512;
}

std::vector<schedule::Actor> actors_of(const pb::Scenario& scenario) {
  std::vector<schedule::Actor> out;
  for (const auto& a : scenario.workload().actors()) out.push_back({a.name(), a.cpu(), a.name().substr(0, 15)});
  return out;
}

Result<std::vector<schedule::Step>> resolve_schedule(const LoadedScenario& loaded, const PointResolver& resolve) {
  Locator loc(loaded);
  std::vector<schedule::Step> steps;
  const auto& sched = loaded.scenario.schedule();
  for (int i = 0; i < sched.size(); ++i) {
    const pb::Step& st = sched[i];
    schedule::Step out;
    const pb::CodePoint* point = nullptr;
    const gp::RepeatedPtrField<pb::Predicate>* when = nullptr;
    const char* action = "";
    const char* point_field = "";
    uint32_t visit = 0;
    switch (st.action_case()) {
      case pb::Step::kHold:
        out.kind = schedule::Step::Kind::kHold;
        out.actor = st.hold().actor();
        point = &st.hold().at();
        when = &st.hold().when();
        visit = st.hold().visit();
        action = "hold";
        point_field = "at";
        break;
      case pb::Step::kRun:
        out.actor = st.run().actor();
        action = "run";
        if (st.run().until_done()) {
          out.kind = schedule::Step::Kind::kRunToEnd;
          out.text = "run " + out.actor + " until it finished its operations";
        } else if (st.run().until_return()) {
          out.kind = schedule::Step::Kind::kRunToReturn;
          out.text = "run " + out.actor + " until it returns";
        } else {
          out.kind = schedule::Step::Kind::kRun;
          point = &st.run().until();
          when = &st.run().when();
          visit = st.run().visit();
          point_field = "until";
        }
        break;
      case pb::Step::kRelease:
        out.kind = schedule::Step::Kind::kRelease;
        out.actor = st.release().actor();
        out.text = "release " + (out.actor.empty() ? std::string("every held actor") : out.actor);
        break;
      default:
        return input_error(loc.at({{"schedule", i}}), "empty schedule step");
    }
    if (point != nullptr) {
      const bool by_line = !point->line().empty();
      const std::string spec =
          by_line ? point->line() + (point->function().empty() ? "" : " in " + point->function()) : point->symbol();
      auto r = resolve(*point);
      if (!r.ok())
        return make_error(ErrorKind::kInput, loc.at({{"schedule", i}, {action, -1}, {point_field, -1},
                                                     {by_line ? "line" : "symbol", -1}}) +
                                                 ": " + r.error().message);
      out.addr = r->addr;
      out.addrs = r->addrs.empty() ? std::vector<GuestAddr>{r->addr} : r->addrs;
      out.func_offset = r->offset;
      out.point = spec;
      for (const auto& p : *when) {
        schedule::Predicate pred;
        pred.reg = p.arg() != 0 ? arg_register(p.arg()) : p.reg();
        pred.cmp = p.cmp();
        pred.value = p.value();
        pred.text = predicate_text(p);
        out.when.push_back(pred);
      }
      out.text = std::string(action) + " " + out.actor + (st.action_case() == pb::Step::kHold ? " at " : " until ") + spec;
      for (const auto& p : out.when) out.text += (&p == &out.when.front() ? " when " : " and ") + p.text;
      // load_scenario checked the bound; a LoadedScenario built otherwise
      // gets the same error here rather than an overflowing count.
      RACERIG_TRY(check_visit(loc, i, action, visit));
      out.visit = visit == 0 ? 1 : static_cast<int>(visit);
      if (out.visit > 1) out.text += " (visit " + std::to_string(out.visit) + ")";
    }
    steps.push_back(std::move(out));
  }
  return steps;
}

}  // namespace racerig::scenario
