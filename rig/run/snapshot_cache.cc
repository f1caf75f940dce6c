// Listing and pruning ready-state snapshots for the cache commands (see
// snapshot_cache.h).
#include "rig/run/snapshot_cache.h"

#include <algorithm>

#include "rig/process/stale.h"

namespace racerig::run {

namespace {

std::string name_of(const ReadySnapshotStore::Entry& e) {
  const std::string key = e.dir.filename().string();
  if (e.meta.key().empty()) return "(unreadable) " + key;
  std::string name = e.meta.kernel_variant().empty() ? e.meta.kernel_build_id() : e.meta.kernel_variant();
  if (!e.meta.scenario().empty()) name += (name.empty() ? "" : " ") + e.meta.scenario();
  return name.empty() ? key : name;
}

kbuild::CacheEntry entry_of(const ReadySnapshotStore::Entry& e) {
  kbuild::CacheEntry c{"snapshot", name_of(e), e.dir};
  c.bytes = ReadySnapshotStore::disk_usage(e.dir);
  c.last_used = ReadySnapshotStore::last_used(e.dir);
  return c;
}

}  // namespace

std::vector<kbuild::CacheEntry> list_snapshot_entries(const ReadySnapshotStore& store) {
  std::vector<kbuild::CacheEntry> out;
  for (const auto& e : store.list()) out.push_back(entry_of(e));
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name != b.name ? a.name < b.name : a.path < b.path; });
  return out;
}

Status prune_snapshots(const ReadySnapshotStore& store, std::chrono::hours keep, bool dry_run,
                       kbuild::PruneResult* result) {
  const auto cutoff = std::chrono::system_clock::now() - keep;
  for (const auto& e : store.list()) {
    if (ReadySnapshotStore::last_used(e.dir) >= cutoff) continue;
    const std::string key = e.dir.filename().string();
    RACERIG_ASSIGN(auto lock, store.try_lock(key));
    if (!lock) {
      result->skipped.push_back(e.dir.string() + ": a racerig holds its lock (making or remaking it)");
      continue;
    }
    // Measured under the lock: a run may have used it since the listing.
    kbuild::CacheEntry c = entry_of(e);
    if (c.last_used >= cutoff) continue;
    if (!dry_run) {
      if (Status s = store.remove(key); !s.ok()) {
        result->skipped.push_back(e.dir.string() + ": " + s.error().message);
        continue;
      }
    }
    result->bytes += c.bytes;
    result->removed.push_back(std::move(c));
  }
  for (const auto& l : store.leftovers()) {
    if (l.owner == 0 || process::pid_alive(l.owner)) continue;
    RACERIG_ASSIGN(auto lock, store.try_lock(l.key));
    if (!lock) continue;  // a live maker of that key; lock() removes it later
    kbuild::CacheEntry c{"snapshot", "(left by a dead racerig) " + l.path.filename().string(), l.path};
    c.bytes = ReadySnapshotStore::disk_usage(l.path);
    c.last_used = ReadySnapshotStore::last_used(l.path);
    if (!dry_run) {
      std::error_code ec;
      std::filesystem::remove_all(l.path, ec);
      if (ec) {
        result->skipped.push_back(l.path.string() + ": " + ec.message());
        continue;
      }
    }
    result->bytes += c.bytes;
    result->removed.push_back(std::move(c));
  }
  return Status::Ok();
}

}  // namespace racerig::run
