// Which source tree a page reads a kernel's lines from: the trusted tree of
// the variant's base in the kernel cache (rig/kbuild), which holds the
// sources of the last variant built there.
#pragma once

#include <string>

#include "rig/kbuild/cache.h"
#include "rig/report/source.h"

namespace racerig::report {

// The tree of `variant`'s base when it is at this variant (its applied
// patches' key is the variant's key, and no build is under way): exact
// lines. When it is at another variant, the tree all the same, with a
// note that lines the variant's patches touch may differ. No tree (a
// candidate's throw-away copy, an unknown variant, no cache): an empty
// root and a note saying why. Never fails.
SourceTree kernel_source(const kbuild::Cache& cache, const std::string& variant);

// The same after opening the cache at `cache_root` with the variants of
// `kernels_dir` (a cache that does not open: an empty root, the note says why).
SourceTree kernel_source(const std::filesystem::path& kernels_dir, const std::filesystem::path& cache_root,
                         const std::string& variant);

}  // namespace racerig::report
