// Kernel lookups shared by the commands: open the cache, build on demand
// with progress on stderr, and hand the files to a run.
#include <unistd.h>

#include <cstdio>

#include "host/cli_util.h"
#include "host/terminal_progress.h"
#include "rig/jobs/kernels.h"
#include "rig/kbuild/cache.h"
#include "rig/run/run.h"

namespace racerig::host {

std::filesystem::path work_dir() { return kbuild::default_cache_root() / "work"; }

Result<kbuild::Cache> open_cache(const std::filesystem::path& root) {
  return kbuild::Cache::open(std::filesystem::path(repo_root()) / "kernels",
                             root.empty() ? kbuild::default_cache_root() : root);
}

jobs::JobEnv job_env() { return jobs::default_env(repo_root()); }

Result<run::KernelFiles> ensure_kernel(const std::string& name) {
  TerminalProgress progress;
  return jobs::ensure_kernel(job_env(), name, progress);
}

Result<run::KernelFiles> ensure_patched_kernel(const std::string& base,
                                               const std::vector<std::filesystem::path>& patches) {
  TerminalProgress progress;
  return jobs::ensure_patched_kernel(job_env(), base, patches, progress);
}

int cmd_kernel(const Args& raw) {
  auto parsed = parse_args(raw, {}, {"help", "vmlinux", "bzimage"});
  if (!parsed.ok()) return report_error("kernel", parsed.error());
  const ParsedArgs& args = *parsed;
  const auto& pos = args.positional;
  if (args.has("help") || pos.empty() || (pos[0] != "build" && pos[0] != "list" && pos[0] != "path") ||
      (pos[0] != "list" && pos.size() < 2)) {
    std::fprintf(args.has("help") ? stdout : stderr,
                 "usage: racerig kernel build VARIANT...\n"
                 "       racerig kernel list\n"
                 "       racerig kernel path VARIANT [--vmlinux|--bzimage]\n");
    return args.has("help") ? kExitOk : kExitUsage;
  }
  auto cache = open_cache();
  if (!cache.ok()) return report_error("kernel", cache.error());

  if (pos[0] == "list") {
    auto variants = cache->variants();
    if (!variants.ok()) return report_error("kernel list", variants.error());
    std::printf("%-12s %-10s %-26s %s\n", "variant", "state", "key", "description");
    for (const auto& v : *variants) {
      auto key = cache->key(v);
      auto hit = cache->find(v);
      std::printf("%-12s %-10s %-26s %s\n", v.name().c_str(), hit ? "built" : "not built",
                  key.ok() ? key->c_str() : ("error: " + key.error().message).c_str(), v.description().c_str());
      if (hit) std::printf("%-12s %s\n", "", hit->dir.c_str());
    }
    std::printf("cache: %s (source: linux-source-6.1 %s)\n", cache->root().c_str(), cache->source_version().c_str());
    return kExitOk;
  }

  if (pos[0] == "path") {
    auto v = cache->variant(pos[1]);
    if (!v.ok()) return report_error("kernel path", v.error());
    auto hit = cache->find(*v);
    if (!hit) {
      std::fprintf(stderr, "racerig: kernel %s is not built (racerig kernel build %s)\n", pos[1].c_str(), pos[1].c_str());
      return kExitNegative;
    }
    std::printf("%s\n", (args.has("vmlinux") ? hit->vmlinux : args.has("bzimage") ? hit->bzimage : hit->dir).c_str());
    return kExitOk;
  }

  int status = kExitOk;
  for (size_t i = 1; i < pos.size(); ++i) {
    auto v = cache->variant(pos[i]);
    if (!v.ok()) return report_error("kernel build", v.error());
    TerminalProgress progress;
    auto b = cache->build(*v, progress);
    if (!b.ok()) {
      report_error("kernel build " + pos[i], b.error());
      status = b.error().kind == ErrorKind::kInput ? kExitUsage : kExitInfra;
      continue;
    }
    std::printf("%-12s %s  %s  %.1f s%s\n", b->variant.c_str(), b->cached ? "cached" : "built ", b->dir.c_str(),
                b->seconds, b->cached ? "" : (" (" + std::to_string(progress.compiled()) + " compile steps)").c_str());
  }
  return status;
}

}  // namespace racerig::host
