// `racerig explore`: maps every interleaving of a scenario's window on one
// kernel. A trace run (from the ready-state snapshot, nothing held) records
// the ordered code points each explored actor passes in the window
// (points.h); then, for each ordered pair (A, B) of explored actors and each
// point p of A's trace, one schedule: hold A at p (its nth visit), park B at
// its first point of the window until A is held, run B to the end of its
// operations, release A. Every schedule starts from the snapshot and is
// judged like any run (REPRODUCED, NOT_REPRODUCED, serialized, DEADLOCK,
// OTHER_OOPS, not reached, ...). Depth 2 (options.depth) then runs pairs of
// points (prune.h): hold A at p, run B to its point q and hold it, run A to
// its end, release B.
#pragma once

#include <functional>
#include <string>

#include "proto/racerig.pb.h"
#include "rig/run/run.h"

namespace racerig::explore {

struct ExploreOptions {
  // 0: every schedule; else at most this many (the first ones, in order).
  int max_schedules = 0;
  // 1: one point per schedule; 2: also pairs of points (prune.h).
  int depth = 1;
  // How many VMs run schedules at once (each restored from the same cached
  // snapshot); 0: the context's RunOptions::vms, and when that is 0 too,
  // the host's cores / the guest's vCPUs, at least 1.
  int vms = 0;
  // Depth 2 only until a schedule fails the kernel, and not at all when a
  // depth-1 schedule forced a failure (not after a serialization): one
  // failure is all a NOT_FIXED needs.
  bool depth2_until_failure = false;
  // Called after each schedule with its result (schedule n of total).
  std::function<void(const pb::ExploredSchedule& done, int total)> on_schedule;
};

// Traces and explores `ctx`'s scenario (it must have an explore {} block)
// on ctx's kernel. Never throws: a failure before the schedules (window
// that does not resolve, trace run that failed) is in report.error, with
// what was done so far. Stops early when process::cancelled().
pb::ExploreReport explore(const run::RunContext& ctx, const ExploreOptions& options,
                          const run::Progress& progress);

}  // namespace racerig::explore
