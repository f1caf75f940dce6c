// racerig cache list|prune: what the kernel cache holds (kernels, trees,
// candidate builds, logs, NVDIMM templates, ready-state snapshots) with
// sizes, and removing what is unused while keeping the variants of
// kernels/variants.textproto.
#include <cstdio>
#include <ctime>

#include "host/cli_util.h"
#include "host/commands.h"
#include "rig/kbuild/cache.h"
#include "rig/kbuild/store.h"
#include "rig/run/ready_store.h"
#include "rig/run/run.h"
#include "rig/run/snapshot_runner.h"
#include "rig/run/snapshot_cache.h"

namespace racerig::host {

namespace {

std::string size_text(uintmax_t bytes) {
  char buf[32];
  if (bytes >= (1u << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1u << 30));
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1u << 20));
  return buf;
}

std::string age_text(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) return "?";
  const double days = std::chrono::duration<double>(std::chrono::system_clock::now() - t).count() / 86400;
  char buf[32];
  std::snprintf(buf, sizeof buf, days < 1 ? "%.0f h ago" : "%.0f d ago", days < 1 ? days * 24 : days);
  return buf;
}

// The ready-state snapshots of `racerig reproduce|validate` (ready_store.h).
run::ReadySnapshotStore snapshot_store() { return run::ReadySnapshotStore(run::snapshot_store_dir(work_dir())); }

void print_entry(const kbuild::CacheEntry& e) {
  std::printf("%-10s %-34.34s %10s  %-9s %-5s %s\n", e.kind.c_str(), e.name.c_str(), size_text(e.bytes).c_str(),
              age_text(e.last_used).c_str(), e.kept ? "kept" : "", e.path.c_str());
}

int cache_list() {
  auto cache = open_cache();
  if (!cache.ok()) return report_error("cache", cache.error());
  auto entries = kbuild::list_entries(*cache);
  if (!entries.ok()) return report_error("cache list", entries.error());
  for (auto& e : run::list_snapshot_entries(snapshot_store())) entries->push_back(std::move(e));
  std::printf("%-10s %-34s %10s  %-9s %-5s %s\n", "what", "name", "size", "used", "", "path");
  uintmax_t total = 0;
  for (const auto& e : *entries) {
    print_entry(e);
    total += e.bytes;
  }
  std::printf("cache: %s, %s in %zu entries\n", cache->root().c_str(), size_text(total).c_str(), entries->size());
  return kExitOk;
}

struct PruneOptions {
  int keep_days = 14;
  bool dry_run = false;
};

int cache_prune(const PruneOptions& o) {
  auto cache = open_cache();
  if (!cache.ok()) return report_error("cache", cache.error());
  auto pruned = kbuild::prune(*cache, std::chrono::hours(24 * o.keep_days), o.dry_run);
  if (!pruned.ok()) return report_error("cache prune", pruned.error());
  if (Status s = run::prune_snapshots(snapshot_store(), std::chrono::hours(24 * o.keep_days), o.dry_run, &*pruned);
      !s.ok())
    return report_error("cache prune", s.error());
  for (const auto& e : pruned->removed) {
    std::printf("%s ", o.dry_run ? "would remove" : "removed");
    print_entry(e);
  }
  for (const auto& s : pruned->skipped) std::printf("skipped %s\n", s.c_str());
  std::printf(
      "%s %s in %zu entries (kept: the variants of kernels/variants.textproto, each base's current tree, "
      "anything used in the last %d days, snapshots being made)\n",
      o.dry_run ? "would free" : "freed", size_text(pruned->bytes).c_str(), pruned->removed.size(), o.keep_days);
  return kExitOk;
}

}  // namespace

std::vector<Command> add_cache_commands(CLI::App& root) {
  CLI::App* cache = root.add_subcommand("cache", "what the kernel cache holds, and removing what is unused");
  cache->require_subcommand(1);
  std::vector<Command> out;
  CLI::App* list = cache->add_subcommand(
      "list", "kernels, trees, candidate builds, logs, templates and ready-state snapshots with sizes");
  out.push_back(Command{list, [] { return cache_list(); }});
  auto o = std::make_shared<PruneOptions>();
  CLI::App* prune = cache->add_subcommand(
      "prune", "remove what was not used for N days, keeping the variants of kernels/variants.textproto");
  // 0 is allowed: everything not in use right now (and not kept) goes.
  prune->add_option("--keep-days", o->keep_days, "keep what was used in the last N days (0: only what is kept)")
      ->type_name("N")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  prune->add_flag("--dry-run", o->dry_run, "only say what would be removed");
  out.push_back(Command{prune, [o] { return cache_prune(*o); }});
  return out;
}

}  // namespace racerig::host
