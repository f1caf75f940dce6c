// Depth 2's pruning, without a VM: from the held actor's trace and the
// depth-1 schedules of one direction, the held points that depth 2 starts
// from.
//
// A depth-1 schedule whose runner passed the held actor's point freely
// (NOT_REPRODUCED, schedule enforced) shows that, at that point, the held
// actor is outside anything the runner waits for; consecutive such points
// form a class between which depth 1 saw no difference. Depth 2 holds the
// actor at the last point of each class (the latest state before the
// outcome changes) and runs the other one to each of its points. Points
// whose depth-1 schedule failed the kernel are already a failure; points at
// which the runner blocked (serialized), was not reached, or did not run
// are not starting points.
#pragma once

#include <string>
#include <vector>

#include "proto/racerig.pb.h"

namespace racerig::explore {

// The held points depth 2 starts from, in trace order: `held_trace` is the
// held actor's points in its order, `depth1` every depth-1 schedule of the
// report (only those with this `held` and `runner` count).
std::vector<pb::ExplorePoint> depth2_holds(const std::vector<pb::ExplorePoint>& held_trace,
                                           const std::string& held, const std::string& runner,
                                           const google::protobuf::RepeatedPtrField<pb::ExploredSchedule>& depth1);

}  // namespace racerig::explore
