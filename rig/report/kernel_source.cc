// Which source tree a page reads a kernel's lines from (see kernel_source.h).
#include "rig/report/kernel_source.h"

#include <system_error>

#include "rig/base/file.h"

namespace racerig::report {

SourceTree kernel_source(const kbuild::Cache& cache, const std::string& variant_name) {
  namespace fs = std::filesystem;
  SourceTree out;
  auto variant = cache.variant(variant_name);
  if (!variant.ok()) {
    out.note = "source not shown: " + variant_name +
               " is not a variant of the kernel cache (a candidate's tree is "
               "deleted after its build)";
    return out;
  }
  auto base = cache.base_of(*variant);
  auto key = base.ok() ? cache.key(*variant) : Result<std::string>(base.error());
  if (!key.ok()) {
    out.note = "source not shown: " + key.error().message;
    return out;
  }
  const fs::path dir = cache.tree_dir(*base);
  std::error_code ec;
  if (!fs::is_directory(dir / "src", ec)) {
    out.note =
        "source not shown: the kernel cache has no tree for " + variant_name + " (" + (dir / "src").string() + ")";
    return out;
  }
  out.root = dir / "src";
  auto applied = read_file(dir / ".applied", 4096);
  if (applied.ok() && *applied == *key && !fs::exists(dir / ".building", ec))
    out.note = "source from " + out.root.string() + " (the tree " + variant_name + " was built in)";
  else
    out.note = "source from " + out.root.string() + ", which now holds another variant of the same base: lines " +
               variant_name + "'s patches touch may differ";
  return out;
}

SourceTree kernel_source(const std::filesystem::path& kernels_dir, const std::filesystem::path& cache_root,
                         const std::string& variant) {
  auto cache = kbuild::Cache::open(kernels_dir, cache_root);
  if (!cache.ok()) return SourceTree{{}, "source not shown: " + cache.error().message};
  return kernel_source(*cache, variant);
}

}  // namespace racerig::report
