// Depth 2's pruning (see prune.h).
#include "rig/explore/prune.h"

#include <map>

#include "rig/explore/map.h"

namespace racerig::explore {

std::vector<pb::ExplorePoint> depth2_holds(const std::vector<pb::ExplorePoint>& held_trace,
                                           const std::string& held, const std::string& runner,
                                           const google::protobuf::RepeatedPtrField<pb::ExploredSchedule>& depth1) {
  std::map<std::string, const pb::ExploredSchedule*> by_point;
  for (const auto& s : depth1)
    if (s.depth() <= 1 && s.held() == held && s.runner() == runner) by_point[point_key(held, s.point())] = &s;
  std::vector<pb::ExplorePoint> out;
  const pb::ExplorePoint* last_of_class = nullptr;
  for (const auto& p : held_trace) {
    auto it = by_point.find(point_key(held, p));
    const bool passed = it != by_point.end() && it->second->verdict() == pb::NOT_REPRODUCED && !it->second->serialized();
    if (passed) {
      last_of_class = &p;
      continue;
    }
    if (last_of_class != nullptr) out.push_back(*last_of_class);
    last_of_class = nullptr;
  }
  if (last_of_class != nullptr) out.push_back(*last_of_class);
  return out;
}

}  // namespace racerig::explore
