// Kernels for jobs: look a variant up in the cache and build it (or base plus
// patch files) when missing. Concurrent callers of the same build wait on the
// cache's lock and then find the finished build: nothing is built twice.
#pragma once

#include <filesystem>
#include <vector>

#include "rig/base/result.h"
#include "rig/jobs/job_env.h"
#include "rig/run/run.h"

namespace racerig::jobs {

// The kernel cache of `env`.
Result<kbuild::Cache> open_cache(const JobEnv& env);

// Builds the variant if needed and returns its files. Unknown variants are
// kInput errors; build failures are kBuild. Blocks for minutes on a cold cache.
Result<run::KernelFiles> ensure_kernel(const JobEnv& env, const std::string& variant, kbuild::ProgressSink& progress);

// Builds `base` plus extra patch files as a content-addressed variant. A
// patch that is empty, binary or has no diff is kInput; one that does not
// apply or a kernel that does not build is kBuild (naming hunk / compiler
// error lines and the log).
Result<run::KernelFiles> ensure_patched_kernel(const JobEnv& env, const std::string& base,
                                               const std::vector<std::filesystem::path>& patches,
                                               kbuild::ProgressSink& progress);

}  // namespace racerig::jobs
