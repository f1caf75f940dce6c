// Kernel source lines for a page: the tree a kernel was built from, and the
// lines of one of its files, read defensively (a frame's or a point's file
// name comes from a report: never trusted as a path).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "rig/base/result.h"

namespace racerig::report {

// Where a page reads a kernel's source: `root` (empty: nowhere), and a
// sentence the page shows about it (why there is none, or that the tree
// may differ from the kernel).
struct SourceTree {
  std::filesystem::path root;
  std::string note;
};

// The lines of `file` under `root` (at most 16 MiB, carriage returns
// dropped). `file` is a relative path under the root, or an absolute one
// inside it; kInput when the root is empty, when `file` is empty, leaves
// the root (".." or an absolute path elsewhere); kIo when it cannot be read.
Result<std::vector<std::string>> read_source(const std::filesystem::path& root, const std::string& file);

}  // namespace racerig::report
