// racerig cache list|prune: what the kernel cache holds (kernels, trees,
// candidate builds, logs, NVDIMM templates) with sizes, and removing what is
// unused while keeping the variants of kernels/variants.textproto.
#include <cstdio>
#include <ctime>

#include "host/cli_util.h"
#include "host/commands.h"
#include "rig/kbuild/cache.h"
#include "rig/kbuild/store.h"

namespace racerig::host {

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: racerig cache list\n"
               "       racerig cache prune [--keep-days N] [--dry-run]\n"
               "prune removes kernels, trees, logs and templates unused for N days (default 14),\n"
               "always keeping the variants of kernels/variants.textproto and the current tree\n");
}

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

void print_entry(const kbuild::CacheEntry& e) {
  std::printf("%-9s %-34.34s %10s  %-9s %-5s %s\n", e.kind.c_str(), e.name.c_str(), size_text(e.bytes).c_str(),
              age_text(e.last_used).c_str(), e.kept ? "kept" : "", e.path.c_str());
}

}  // namespace

int cmd_cache(const Args& raw) {
  auto parsed = parse_args(raw, {"keep-days"}, {"help", "dry-run"});
  if (!parsed.ok()) {
    usage(stderr);
    return report_error("cache", parsed.error());
  }
  const ParsedArgs& args = *parsed;
  const auto& pos = args.positional;
  if (args.has("help") || pos.size() != 1 || (pos[0] != "list" && pos[0] != "prune") ||
      (pos[0] == "list" && (args.get("keep-days") || args.has("dry-run")))) {
    usage(args.has("help") ? stdout : stderr);
    return args.has("help") ? kExitOk : kExitUsage;
  }
  auto cache = open_cache();
  if (!cache.ok()) return report_error("cache", cache.error());
  if (pos[0] == "list") {
    auto entries = kbuild::list_entries(*cache);
    if (!entries.ok()) return report_error("cache list", entries.error());
    std::printf("%-9s %-34s %10s  %-9s %-5s %s\n", "what", "name", "size", "used", "", "path");
    uintmax_t total = 0;
    for (const auto& e : *entries) {
      print_entry(e);
      total += e.bytes;
    }
    std::printf("cache: %s, %s in %zu entries\n", cache->root().c_str(), size_text(total).c_str(), entries->size());
    return kExitOk;
  }
  auto days = args.positive_int("keep-days", 14);
  if (!days.ok()) return report_error("cache prune", days.error());
  auto pruned = kbuild::prune(*cache, std::chrono::hours(24 * *days), args.has("dry-run"));
  if (!pruned.ok()) return report_error("cache prune", pruned.error());
  for (const auto& e : pruned->removed) {
    std::printf("%s ", args.has("dry-run") ? "would remove" : "removed");
    print_entry(e);
  }
  for (const auto& s : pruned->skipped) std::printf("skipped %s\n", s.c_str());
  std::printf("%s %s in %zu entries (kept: the variants of kernels/variants.textproto, the current tree, "
              "anything used in the last %d days)\n",
              args.has("dry-run") ? "would free" : "freed", size_text(pruned->bytes).c_str(), pruned->removed.size(),
              *days);
  return kExitOk;
}

}  // namespace racerig::host
