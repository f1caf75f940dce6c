// Copying big, mostly empty files (NVDIMM images, kernels, initrds) into a
// run dir or a cache without filling their holes.
#pragma once

#include <filesystem>

#include "rig/base/result.h"

namespace racerig::machine {

// Copies `from` to a new file `to` (which must not exist) keeping holes
// holes: a reflink clone where the filesystem has them, else only the data
// extents. The file is written to `to`.tmp and renamed; on error nothing is
// left at either name, and the error names the file and the step that failed.
Status copy_sparse(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace racerig::machine
