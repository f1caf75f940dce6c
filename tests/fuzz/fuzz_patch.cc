// libFuzzer target: candidate patches from submitters (rig/kbuild's
// patches): classification and splitting (parse_patch), the paths a patch
// touches (touched_paths, which keeps a patch inside the tree) and the
// failure lines of tool output. Nothing here runs git or patch.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rig/kbuild/patches.h"

namespace kbuild = racerig::kbuild;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string content(reinterpret_cast<const char*>(data), size);
  auto patch = kbuild::parse_patch("fuzz.patch", content);
  if (patch.ok()) {
    (void)kbuild::patch_kind_name(patch->kind);
    if (patch->parts.empty()) __builtin_trap();  // a parsed patch has at least one diff
    if (auto paths = kbuild::touched_paths(*patch)) {
      for (const std::string& path : *paths) {
        // touched_paths promises tree-relative paths only.
        if (path.empty() || path[0] == '/') __builtin_trap();
        if (path == ".." || path.rfind("../", 0) == 0 || path.find("/../") != std::string::npos ||
            (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0))
          __builtin_trap();
      }
    }
  }
  (void)kbuild::hunk_failure_lines(content);
  return 0;
}
