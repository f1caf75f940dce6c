// The NVDIMM template: an image with the fsdax info block and an empty XFS,
// made once by one boot per kernel and guest set-up (the agent's
// make_template plan) under options.work_dir/pmem-templates, then the
// starting image of every boot of that kernel and set-up instead of
// converting the namespace and running mkfs.xfs in each.
#pragma once

#include <filesystem>

#include "rig/base/result.h"
#include "rig/run/run.h"
#include "rig/run/run_state.h"

namespace racerig::run {

// Where the template for the context's guest set-up is (whether or not it
// exists yet): keyed by the kernel's build id, the base initramfs (its
// mkfs.xfs and agent), the NVDIMM size, the vCPUs and the set-up.
std::filesystem::path pmem_template_path(const RunContext& context);

struct PmemTemplate {
  std::filesystem::path path;
  bool made = false;  // this call made it (a boot)
};

// The template, made by one boot when missing (each wait bounded by the
// scenario's boot deadline, then 30 s to power off); several processes may
// make it at once, the last rename wins. kIo/kTimeout naming what the guest
// did when it could not be made.
Result<PmemTemplate> ensure_pmem_template(const RunContext& context, const Progress& progress);

// The template for a run, or an empty path when the guest makes its own
// filesystem (options.pmem_template off, or a set-up that skips fsdax); a
// template made now is charged to the phase "template". With `make_if_missing`
// false a missing template is not made: a snapshot boots once per kernel
// anyway, and making the template would be a second boot.
Result<std::filesystem::path> template_for_run(const RunContext& context, const Progress& progress, Phases& phases,
                                               bool make_if_missing);

}  // namespace racerig::run
