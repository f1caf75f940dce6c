// The explore-map cache (see explore_cache.h).
#include "rig/jobs/explore_cache.h"

#include <google/protobuf/text_format.h>

#include "rig/base/file.h"
#include "rig/base/sha256.h"

namespace racerig::jobs {

namespace {

std::filesystem::path map_path(const std::filesystem::path& work_dir, const std::string& key) {
  return work_dir / "explore-maps" / (key + ".binpb");
}

}  // namespace

std::string explore_map_key(const run::RunContext& ctx, const std::string& racerig_version) {
  std::string scenario;
  google::protobuf::TextFormat::PrintToString(ctx.scenario.scenario, &scenario);
  const run::RunOptions& o = ctx.options;
  const std::string identity = "build " + ctx.kernel.build_id + "\nscenario " + scenario + "\ncpus " +
                               std::to_string(o.cpus) + " memory " + std::to_string(o.memory_mb) + " kvm " +
                               std::to_string(o.kvm) + " backend " + std::to_string(static_cast<int>(o.backend)) +
                               " append " + o.append + "\nracerig " + racerig_version + "\n";
  return sha256_hex(identity).substr(0, 32);
}

std::optional<pb::ExploreReport> load_explore_map(const std::filesystem::path& work_dir, const std::string& key) {
  auto bytes = read_file(map_path(work_dir, key));
  if (!bytes.ok()) return std::nullopt;
  pb::ExploreReport map;
  if (!map.ParseFromString(*bytes) || !map.error().empty()) return std::nullopt;
  map.set_from_cache(true);
  return map;
}

Status store_explore_map(const std::filesystem::path& work_dir, const std::string& key, const pb::ExploreReport& map) {
  if (!map.error().empty() || map.schedules_size() == 0) return Status::Ok();
  for (const auto& s : map.schedules())
    if (s.verdict() == pb::INFRA_ERROR || s.verdict() == pb::STALLED) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(work_dir / "explore-maps", ec);
  if (ec) return make_error(ErrorKind::kIo, "creating " + (work_dir / "explore-maps").string() + ": " + ec.message());
  return write_file_atomic(map_path(work_dir, key), map.SerializeAsString());
}

}  // namespace racerig::jobs
