// One kernel work tree and what is done to it: made from the pristine
// sources, restored, patched, built with make, its outputs published, and
// its interrupted builds undone. The caller holds the tree's lock.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "rig/base/result.h"
#include "rig/base/scoped_fd.h"
#include "rig/kbuild/patches.h"
#include "rig/kbuild/progress.h"
#include "rig/kbuild/worker.h"

namespace racerig::kbuild {

constexpr char kPristineTag[] = "racerig-pristine";

// A tree directory `dir` holds `src` (the kernel sources, a git work tree)
// and our markers next to it: .ready, .applied (the key of the applied
// patches), .building (a make run is under way; its mtime is when it
// started), steps-cold / steps-last (make steps of past builds).
struct Tree {
  std::filesystem::path dir;
  std::filesystem::path src() const { return dir / "src"; }
};

// flock(LOCK_EX) of `path`, waiting until `deadline`. While another process
// holds it, says once (through `waiting`) who: the pid and the variant it
// wrote into the file. The holder's "PID VARIANT" is written once locked.
Result<ScopedFd> lock_tree(const std::filesystem::path& path, const std::string& variant, Deadline deadline,
                           const std::function<void(const std::string&)>& waiting);

// A line of a config fragment that did not survive olddefconfig: its
// 1-based line number in the fragment and its text.
struct FragmentMiss {
  int line = 0;
  std::string text;
};
// The fragment's "CONFIG_X=v" lines that `config` (a .config's text) does
// not have: "=n" lines must be absent or "is not set", others present as
// written. Comments, blank lines and options listed in `skip` (overridden
// by a later fragment) are not checked.
std::vector<FragmentMiss> fragment_misses(const std::string& config, const std::string& fragment,
                                          const std::vector<std::string>& skip = {});
// The "CONFIG_X" options a fragment sets.
std::vector<std::string> fragment_options(const std::string& fragment);

// A variant's own config fragment: its file's name (for messages) and text.
struct VariantFragment {
  std::string variant;
  std::string file;  // relative to kernels/
  std::string text;  // empty: the variant has none
};

// Brings src/.config to the variant's configuration: the base's (saved by
// prepare_tree as config.base) when it has no fragment; else the base's
// with the fragment merged (merge_config.sh -m, then olddefconfig), every
// line of both fragments checked. .config is only rewritten when it
// changes, so make recompiles only what the changed options touch. A line
// that does not stick is a kInput error naming the variant, the fragment
// file and the line.
Status configure_variant(const Tree& tree, const Worker& worker, const std::string& base_fragment,
                         const std::string& base_fragment_name, const VariantFragment& fragment,
                         const std::string& source_text, const std::function<void(const std::string&)>& stage);

// Extracts the tarball into a fresh tree, records it in git (tag
// racerig-pristine) and configures it (tinyconfig + fragment, checked;
// fragment_name names the fragment's file in messages).
Status prepare_tree(const Tree& tree, const Worker& worker, const std::filesystem::path& tarball,
                    const std::string& package, const std::string& version, const std::string& fragment,
                    const std::string& fragment_name, const std::filesystem::path& log,
                    const std::function<void(const std::string&)>& stage);

// Undoes an interrupted build (.building present): deletes every file under
// src/ (outside .git) written since it started, so no truncated object is
// trusted by the next incremental build. Returns how many were deleted.
Result<int> undo_interrupted_build(const Tree& tree);

// Restores the pristine sources (git reset --hard; git clean without -x,
// keeping the objects: only a trusted tree is restored this way) and
// applies `patches` in order.
Status restore_and_apply(const Tree& tree, const Worker& worker, const std::vector<PatchFile>& patches,
                         const std::function<void(const std::string&)>& stage);

// Applies `patches` in order to `scratch`, a tree holding only the files
// they touch, copied by the worker (symlinks as links) from `from`, a built
// tree's src/: whether they apply is known in seconds, before a tree of
// gigabytes is copied. Ok when they apply, and when their paths cannot be
// gathered (quoted, absolute or "..": the full application judges those).
// Errors as apply_patches. The caller removes `scratch`.
Status trial_apply(const Tree& scratch, const std::filesystem::path& from, const Worker& worker,
                   const std::vector<PatchFile>& patches);

// Applies `patches` on what the tree holds.
Status apply_patches(const Tree& tree, const Worker& worker, const std::vector<PatchFile>& patches,
                     const std::function<void(const std::string&)>& stage);

// make bzImage in the sandbox, stopped at `limit`. kBuild for a failed or
// over-long build (with the compiler's error lines and the log's path),
// kCancelled on Ctrl-C. .building marks the tree while make runs; it is
// removed only after a successful build. Records the step count.
Status make_kernel(const Tree& tree, const Worker& worker, const std::string& name, std::chrono::seconds limit,
                   const std::filesystem::path& log, ProgressSink& progress, int estimated_steps);

// Copies the outputs (bzImage, vmlinux, System.map, .config) out of the
// tree into `out` without following any symbolic link in the tree (a
// hostile build may plant them) and only regular files.
Status copy_outputs(const Tree& tree, const std::filesystem::path& out);

// Make steps recorded by earlier builds (0 when none).
int recorded_steps(const Tree& tree, const char* which);

}  // namespace racerig::kbuild
