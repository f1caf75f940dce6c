// Submit request checks (see limits.h).
#include "rig/service/limits.h"

#include <google/protobuf/text_format.h>

#include <string>

#include "rig/kbuild/patches.h"
#include "rig/scenario/scenario.h"

namespace racerig::service {

namespace {

ServiceError invalid(const std::string& field, const std::string& what) { return invalid_argument(field, what); }

std::optional<ServiceError> check_request_id(const std::string& request_id, const Limits& limits) {
  if (request_id.size() > limits.max_request_id_bytes)
    return invalid("request_id", std::to_string(request_id.size()) + " bytes; at most " +
                                     std::to_string(limits.max_request_id_bytes));
  return std::nullopt;
}

std::optional<ServiceError> check_common(const std::string& request_id, int runs, const Limits& limits) {
  if (auto e = check_request_id(request_id, limits)) return e;
  if (runs < 1 || runs > limits.max_runs)
    return invalid("runs", "must be from 1 to " + std::to_string(limits.max_runs) + ", got " + std::to_string(runs));
  return std::nullopt;
}

// `dir`: where names are looked up (empty: the catalog's scenarios/).
std::optional<ServiceError> check_scenario(const pb::ScenarioRef& ref, const std::string& field, const Limits& limits,
                                           const Catalog& catalog, const std::filesystem::path& dir = {}) {
  switch (ref.ref_case()) {
    case pb::ScenarioRef::kName:
      if (auto why = catalog.check_scenario_name(ref.name(), dir)) return invalid(field + ".name", *why);
      return std::nullopt;
    case pb::ScenarioRef::kTextproto:
      if (ref.textproto().size() > limits.max_textproto_bytes)
        return invalid(field + ".textproto", std::to_string(ref.textproto().size()) + " bytes; at most " +
                                                 std::to_string(limits.max_textproto_bytes));
      if (auto why = catalog.check_scenario_text(ref.textproto(), limits.vcpus))
        return invalid(field + ".textproto", *why);
      {
        pb::Scenario scenario;  // it parsed above
        if (!google::protobuf::TextFormat::ParseFromString(ref.textproto(), &scenario))
          return invalid(field + ".textproto", "does not parse");
        return check_scenario_bounds(scenario, field + ".textproto", limits);
      }
    default: return invalid(field, "neither a name nor a textproto");
  }
}

bool safe_file_name(const std::string& name) {
  if (name.empty() || name.size() > 200 || name[0] == '.') return false;
  return name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+") ==
         std::string::npos;
}

}  // namespace

std::optional<ServiceError> check_scenario_bounds(const pb::Scenario& scenario, const std::string& field,
                                                  const Limits& limits) {
  auto over = [&](const std::string& what, long long value, int limit, const char* flag) {
    return invalid(field, what + " is " + std::to_string(value) + "; this server allows at most " +
                              std::to_string(limit) + " (racerigd " + flag + ")");
  };
  const int cpus = scenario::machine_cpus(scenario);
  if (cpus > limits.max_cpus) return over("machine.cpus", cpus, limits.max_cpus, "--max-scenario-cpus");
  if (scenario.machine().memory_mb() > static_cast<uint32_t>(limits.max_memory_mb))
    return over("machine.memory_mb", scenario.machine().memory_mb(), limits.max_memory_mb, "--max-scenario-memory-mb");
  const pb::Deadlines& d = scenario.deadlines();
  for (auto [name, value] : {std::pair{"deadlines.boot_s", d.boot_s()}, std::pair{"deadlines.step_s", d.step_s()},
                             std::pair{"deadlines.finish_s", d.finish_s()}})
    if (value > static_cast<uint32_t>(limits.max_deadline_s))
      return over(name, value, limits.max_deadline_s, "--max-scenario-deadline-s");
  return std::nullopt;
}

std::optional<ServiceError> check_reproduce(const pb::SubmitReproduceRequest& request, const Limits& limits,
                                            const Catalog& catalog) {
  if (auto e = check_common(request.request_id(), request.runs(), limits)) return e;
  if (!request.has_scenario()) return invalid("scenario", "missing");
  if (auto e = check_scenario(request.scenario(), "scenario", limits, catalog)) return e;
  if (request.kernel().empty()) return invalid("kernel", "missing");
  if (auto why = catalog.check_variant(request.kernel())) return invalid("kernel", *why);
  return std::nullopt;
}

std::optional<ServiceError> check_validate(const pb::SubmitValidateRequest& request, const Limits& limits,
                                           const Catalog& catalog) {
  if (auto e = check_common(request.request_id(), request.runs(), limits)) return e;
  if (request.patches().empty()) return invalid("patches", "none given");
  if (request.patches_size() > limits.max_patches)
    return invalid("patches",
                   std::to_string(request.patches_size()) + " patches; at most " + std::to_string(limits.max_patches));
  for (int i = 0; i < request.patches_size(); ++i) {
    const auto& p = request.patches(i);
    const std::string field = "patches[" + std::to_string(i) + "]";
    if (!safe_file_name(p.name()))
      return invalid(field + ".name",
                     "\"" + p.name() + "\" is not a plain file name ([A-Za-z0-9._+-], not starting with '.')");
    if (p.content().size() > limits.max_patch_bytes)
      return invalid(field + ".content",
                     std::to_string(p.content().size()) + " bytes; at most " + std::to_string(limits.max_patch_bytes));
    // The same classification the build uses: empty, binary and diff-less
    // patches are refused here, before the job is queued.
    auto parsed = kbuild::parse_patch(p.name(), p.content());
    if (!parsed.ok()) return invalid(field + ".content", parsed.error().message);
  }
  if (request.scenarios_size() > limits.max_scenarios)
    return invalid("scenarios", std::to_string(request.scenarios_size()) + " scenarios; at most " +
                                    std::to_string(limits.max_scenarios));
  for (int i = 0; i < request.scenarios_size(); ++i)
    if (auto e = check_scenario(request.scenarios(i), "scenarios[" + std::to_string(i) + "]", limits, catalog))
      return e;
  if (!request.base().empty())
    if (auto why = catalog.check_variant(request.base())) return invalid("base", *why);
  return std::nullopt;
}

std::optional<ServiceError> check_stress(const pb::SubmitStressRequest& request, const Limits& limits,
                                         const Catalog& catalog) {
  if (auto e = check_common(request.request_id(), request.runs(), limits)) return e;
  if (request.duration_s() < 1 || request.duration_s() > limits.max_duration_s)
    return invalid("duration_s", "must be from 1 to " + std::to_string(limits.max_duration_s) + ", got " +
                                     std::to_string(request.duration_s()));
  if (!request.has_scenario()) return invalid("scenario", "missing");
  if (auto e =
          check_scenario(request.scenario(), "scenario", limits, catalog, catalog.env().scenarios_dir() / "stress"))
    return e;
  if (request.kernel().empty()) return invalid("kernel", "missing");
  if (auto why = catalog.check_variant(request.kernel())) return invalid("kernel", *why);
  return std::nullopt;
}

std::optional<ServiceError> check_explore(const pb::SubmitExploreRequest& request, const Limits& limits,
                                          const Catalog& catalog) {
  if (auto e = check_request_id(request.request_id(), limits)) return e;
  if (request.max_schedules() < 0 || request.max_schedules() > limits.max_schedules)
    return invalid("max_schedules", "must be from 0 (every schedule) to " + std::to_string(limits.max_schedules) +
                                        ", got " + std::to_string(request.max_schedules()));
  if (!request.has_scenario()) return invalid("scenario", "missing");
  if (auto e = check_scenario(request.scenario(), "scenario", limits, catalog)) return e;
  if (request.kernel().empty()) return invalid("kernel", "missing");
  if (auto why = catalog.check_variant(request.kernel())) return invalid("kernel", *why);
  return std::nullopt;
}

}  // namespace racerig::service
