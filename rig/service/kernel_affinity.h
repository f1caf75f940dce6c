// Kernel affinity's two halves: the kernel cache keys a job needs (the
// frontend computes them at submit, Job.kernel_keys) and the keys a
// worker's cache holds (its heartbeat, and every claim). A claim prefers a
// worker that holds every key its job needs (Store's Affinity).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "proto/racerig_service.pb.h"
#include "rig/kbuild/cache.h"

namespace racerig::service {

// The cache keys of the kernels `job` runs on: its kernel variant's
// (reproduce, stress, explore), or a validate job's base variant's and its
// candidate's (base + the job's patches). A kernel this machine cannot key
// (an unknown variant, a base whose source package is not installed, a patch
// that does not parse) is left out: the job then needs fewer, and any worker
// may take it. Sorted, without repeats.
std::vector<std::string> kernel_needs(const kbuild::Cache &cache,
                                      const pb::Job &job);

// The keys of the kernels built in the cache at `cache_root`
// (kernels/<key>/meta exists), sorted; none when it cannot be read.
std::vector<std::string> held_kernels(const std::filesystem::path &cache_root);

} // namespace racerig::service
