// Kernels for jobs: look a variant up in the cache and build it (or base plus
// patch files) when missing. Concurrent callers of the same build wait on the
// cache's lock and then find the finished build: nothing is built twice.
#pragma once

#include <filesystem>
#include <vector>

#include "rig/base/result.h"
#include "rig/kbuild/patches.h"
#include "rig/jobs/job_env.h"
#include "rig/run/run.h"

namespace racerig::jobs {

// The kernel cache of `env`; first removes the run dirs of racerigs that
// were killed (their QEMU included).
Result<kbuild::Cache> open_cache(const JobEnv& env);

// Builds the variant if needed and returns its files. Unknown variants are
// kInput errors; build failures are kBuild. Blocks for minutes on a cold cache.
Result<run::KernelFiles> ensure_kernel(const JobEnv& env, const std::string& variant, kbuild::ProgressSink& progress);

// Reads and checks patch files (exists, regular, not too big, non-empty,
// text, a unified diff), in order: kInput naming the file and the reason.
Result<std::vector<kbuild::PatchFile>> read_patches(const std::vector<std::filesystem::path>& paths);

// Builds `base` plus checked patches (read_patches) as a content-addressed
// candidate, in a throw-away copy of the trusted tree. One that does not
// apply, a kernel that does not build or a build over its time limit is
// kBuild (naming hunk / compiler error lines and the log); Ctrl-C or the
// job's cancel token is kCancelled.
Result<run::KernelFiles> ensure_patched_kernel(const JobEnv& env, const std::string& base,
                                               const std::vector<kbuild::PatchFile>& patches,
                                               kbuild::ProgressSink& progress);

}  // namespace racerig::jobs
