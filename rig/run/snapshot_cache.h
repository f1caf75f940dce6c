// The ready-state snapshots (ready_store.h) as entries of `racerig cache
// list|prune`, next to what rig/kbuild/store.h lists: each snapshot with its
// disk usage and when it was last used, and pruning those not used for a
// while, never one whose lock a racerig holds.
#pragma once

#include <chrono>
#include <vector>

#include "rig/base/result.h"
#include "rig/kbuild/store.h"
#include "rig/run/ready_store.h"

namespace racerig::run {

// Every published snapshot as a cache entry of kind "snapshot", named by its
// kernel and scenario (its key when meta.pb does not say; "(unreadable)"
// when meta.pb does not parse). Sorted by name. Nothing is changed.
std::vector<kbuild::CacheEntry> list_snapshot_entries(const ReadySnapshotStore& store);

// Removes, through the store's remove(), every snapshot last used before
// now - `keep` whose lock is free; a locked one goes to result->skipped.
// Also removes the staging and trash directories of makers that are gone
// (the key's lock free and the pid in the name not running), whatever their
// age. `dry_run` only fills *result. Adds to *result (removed, skipped,
// bytes). kIo when a lock file cannot be opened.
Status prune_snapshots(const ReadySnapshotStore& store, std::chrono::hours keep, bool dry_run,
                       kbuild::PruneResult* result);

}  // namespace racerig::run
