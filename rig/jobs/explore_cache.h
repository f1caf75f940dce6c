// The explore-map cache: the map of a scenario on a kernel build, kept so
// that every validate against the same control does not explore it again.
// Keyed by everything that makes the map: the kernel's build id, the
// scenario as loaded (its text format), the VM's shape (vCPUs, RAM, KVM,
// backend) and racerig's version. Only complete maps are kept (no error, no
// schedule that failed to run); a kept map says so (from_cache).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/run/run.h"

namespace racerig::jobs {

std::string explore_map_key(const run::RunContext& ctx, const std::string& racerig_version);
// The cached map (from_cache set), or nothing when absent or unreadable.
std::optional<pb::ExploreReport> load_explore_map(const std::filesystem::path& work_dir, const std::string& key);
// Keeps a complete map; an incomplete one is not kept (Ok, nothing written).
Status store_explore_map(const std::filesystem::path& work_dir, const std::string& key, const pb::ExploreReport& map);

}  // namespace racerig::jobs
