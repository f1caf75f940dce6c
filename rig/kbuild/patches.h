// Patch files: git format-patch output, an mbox holding several patches, or
// a plain unified diff (-p1 relative to the kernel tree). Classification and
// splitting are pure; applying runs git/patch in a tree and turns a failure
// into a message naming the patch file and the failing hunks.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/result.h"

namespace racerig::kbuild {

enum class PatchKind { kFormatPatch, kMbox, kPlainDiff };

struct PatchFile {
  std::filesystem::path path;
  PatchKind kind = PatchKind::kPlainDiff;
  std::vector<std::string> parts;  // one diff text per patch, in order
  std::string content;             // the whole file (hashed into cache keys)
};

// Reads and classifies. Empty, binary, or diff-less files are kInput errors
// that say which.
Result<PatchFile> read_patch(const std::filesystem::path& path);
Result<PatchFile> parse_patch(const std::filesystem::path& name, const std::string& content);
const char* patch_kind_name(PatchKind kind);

// Runs a command in the tree being patched with `stdin_data` as its input;
// returns its exit code and output (the caller confines it).
struct ToolRun {
  int code = -1;
  std::string output;
};
using TreeRunner = std::function<Result<ToolRun>(const std::vector<std::string>& argv, const std::string& stdin_data)>;

// Applies every part through `run` (git apply in a git work tree). On
// failure: kBuild naming the file, the part, and the failing hunk lines
// from patch(1)/git.
Status apply_patch(const PatchFile& patch, const TreeRunner& run);

// The tree-relative paths a patch's diffs read or write ("--- a/X",
// "+++ b/X", "rename from X", "copy from X"; /dev/null left out), in order
// of first mention. nullopt when any path is absolute or has a ".."
// component: such a patch is for git apply to refuse, never to be
// followed outside the tree.
std::optional<std::vector<std::string>> touched_paths(const PatchFile& patch);

// From failing tool output, the lines that name hunks and files.
std::string hunk_failure_lines(const std::string& output);

}  // namespace racerig::kbuild
