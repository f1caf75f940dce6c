// What the kernel cache holds and what pruning may remove: the published
// kernels, the trusted trees, candidate trees still being built, build
// logs and NVDIMM templates, each with its size and when it was last used.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "rig/base/result.h"
#include "rig/kbuild/cache.h"

namespace racerig::kbuild {

struct CacheEntry {
  // kernel, tree, candidate, log, run log (a kept run dir), domain log
  // (libvirt's log of a racerig domain in <cache>/libvirt), template
  std::string kind;
  std::string name;               // a kernel's variant, a tree's key, a file's name
  std::filesystem::path path;
  uintmax_t bytes = 0;            // disk usage
  std::chrono::system_clock::time_point last_used;
  bool kept = false;              // a variant of variants.textproto, or a base's current trusted tree
};

// Everything in the cache, kernels first. kIo when the cache cannot be read.
Result<std::vector<CacheEntry>> list_entries(const Cache& cache);

struct PruneResult {
  std::vector<CacheEntry> removed;
  std::vector<std::string> skipped;  // busy entries, with the reason
  uintmax_t bytes = 0;
};

// Removes what is not kept and was not used for `keep`: old kernels (other
// patches, older recipes or toolchains), old trees (only when no racerig
// holds their lock), logs (each kept run dir on its own) and templates. Candidate trees are never touched
// here (their owners remove them; Cache::open removes dead owners' ones).
Result<PruneResult> prune(const Cache& cache, std::chrono::hours keep, bool dry_run);

}  // namespace racerig::kbuild
