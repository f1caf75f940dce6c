// The content-addressed kernel build cache.
//
// Kernel bases are data (kernels/variants.textproto): a base names a Debian
// linux-source package and a config fragment; every variant names its base.
// Layout under the cache root (never inside the checkout):
//   trees/<tree-key>/src      the TRUSTED work tree of one base (source
//                             package and version, config fragment) and
//                             toolchain: Debian's tarball, extracted,
//                             committed to git (tag racerig-pristine),
//                             configured. Only the base and the variants of
//                             kernels/variants.textproto build here,
//                             incrementally; one tree per base.
//   trees/<tree-key>.lock     flock of that tree; holds "PID VARIANT"
//   candidates/<key>.tmp<pid> an UNTRUSTED build: a copy of the trusted tree
//                             (sources and objects of the base variant), the
//                             candidate patches on top; deleted afterwards
//   kernels/<variant-key>/    bzImage vmlinux System.map .config meta used
//   logs/                     full build logs
// A variant's key hashes everything that goes into the build: the build
// recipe's version, the toolchain (gcc, ld, make), the source package and
// version, the base's config fragment, every patch's content in order and
// the variant's own config fragment (when it has one; it is merged onto the
// base's configuration in the same tree, see tree.h). Every build
// command runs as the unprivileged worker user (rig/process/identity.h) in
// a bubblewrap sandbox whose only writable place is the tree it builds; a
// build that outlives the time limit is stopped and reported as a build
// error. A SIGKILLed or interrupted build leaves the tree marked: the next
// build first deletes every file the interrupted one wrote.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/base/scoped_fd.h"
#include "rig/kbuild/patches.h"
#include "rig/kbuild/progress.h"
#include "rig/kbuild/tree.h"
#include "rig/process/identity.h"

namespace racerig::kbuild {

struct KernelBuild {
  std::string variant;
  std::string base;  // the KernelBase's name, "6.1" (empty for kernels published before bases)
  std::string key;
  std::string build_id;
  std::filesystem::path dir, bzimage, vmlinux, system_map, config;
  bool cached = false;   // nothing was compiled
  double seconds = 0;    // wall time of this call
};

// What goes into a tree besides patches, as this machine has it: the base's
// entry in variants.textproto, its source (Debian's tarball and installed
// version), the fragment's text and the tools.
struct BaseSource {
  pb::KernelBase base;          // name, source_package, config_fragment
  std::filesystem::path tarball;  // /usr/src/<source_package>.tar.xz
  std::string version;          // the Debian package version
  std::string fragment;         // the content of base.config_fragment
  std::string toolchain;        // gcc, ld and make versions
  const std::string& package() const { return base.source_package(); }
};

class Cache {
 public:
  // kernels_dir: the repo's kernels/ (variants.textproto, the fragments).
  // Bases are read when used, so a missing package only fails its own
  // variants. Removes what SIGKILLed racerigs left (temporary outputs,
  // candidate trees) once their owners are gone.
  static Result<Cache> open(const std::filesystem::path& kernels_dir, const std::filesystem::path& root);

  // Every variant must name a base the file defines, every base a Debian
  // linux-source-X.Y package (kInput naming the file, variant and base).
  Result<std::vector<pb::Variant>> variants() const;
  Result<std::vector<pb::KernelBase>> bases() const;
  // The variant's base with its installed version, fragment and toolchain;
  // a package that is not installed is a kIo error naming it.
  Result<BaseSource> base_of(const pb::Variant& variant) const;
  // The same for a base entry.
  Result<BaseSource> source_of(const pb::KernelBase& base) const;
  // Unknown names are kInput errors listing the known ones.
  Result<pb::Variant> variant(std::string_view name) const;

  // The variant's own config fragment (empty text when it has none); kInput
  // naming the variant and the file when it cannot be read or sets nothing.
  Result<VariantFragment> variant_fragment(const pb::Variant& variant) const;
  // The cache key of base + extra patches (read from disk).
  Result<std::string> key(const pb::Variant& variant, const std::vector<PatchFile>& extra = {}) const;
  std::optional<KernelBuild> find(const pb::Variant& variant) const;
  // The key of a base, patches in order and a variant's own fragment.
  static std::string key_of(const BaseSource& base, const std::vector<PatchFile>& patches,
                            const VariantFragment& fragment);

  // Builds (or finds) a shipped variant in the trusted tree. Blocks for
  // minutes on a cold cache; kBuild when it does not build or outlives the
  // time limit, kCancelled on Ctrl-C.
  Result<KernelBuild> build(const pb::Variant& variant, ProgressSink& progress) const;
  // base + candidate patches (already read and checked with read_patch), as
  // a variant named "<base>+<first patch stem>", built in a throw-away copy
  // of the trusted tree. Apply/compile failures and the time limit: kBuild.
  Result<KernelBuild> build_with_patches(const pb::Variant& base, const std::vector<PatchFile>& extra,
                                         ProgressSink& progress) const;

  const std::filesystem::path& root() const { return root_; }
  // The trusted tree of a base (it may not exist yet) and its key: recipe,
  // toolchain, package, version and fragment.
  std::filesystem::path tree_dir(const BaseSource& base) const;
  static std::string tree_key(const BaseSource& base);
  // Where every build of a base sees its tree inside the sandbox: the
  // trusted tree's own path (a candidate's copy is shown there too).
  std::filesystem::path tree_inside(const BaseSource& base) const;
  // The limit on one make run; RACERIG_BUILD_TIME_LIMIT (seconds) overrides.
  std::chrono::seconds time_limit() const { return time_limit_; }

 private:
  Result<pb::VariantSet> load_set() const;
  Result<std::vector<PatchFile>> variant_patches(const pb::Variant& variant) const;
  // keep_tree_at_variant: also when the kernel is cached, leave the trusted
  // tree at this variant, built (a candidate is copied from it).
  Result<KernelBuild> build_trusted(const std::string& name, const BaseSource& base,
                                    const std::vector<PatchFile>& patches, const VariantFragment& fragment,
                                    ProgressSink& progress, bool keep_tree_at_variant) const;
  Result<KernelBuild> build_trusted_locked(const std::string& name, const BaseSource& base,
                                           const std::vector<PatchFile>& patches, const VariantFragment& fragment,
                                           ProgressSink& progress, bool keep_tree_at_variant) const;
  Result<ScopedFd> lock_trusted_tree(const std::string& name, const BaseSource& base,
                                     const std::function<void(const std::string&)>& stage) const;
  std::optional<KernelBuild> load(const std::string& name, const std::string& key) const;
  void remove_stale() const;

  std::filesystem::path kernels_dir_;
  std::filesystem::path root_;
  std::string toolchain_;
  std::optional<process::Identity> worker_;
  std::chrono::seconds time_limit_{3600};
};

// $RACERIG_CACHE, else /var/cache/racerig as root, else
// $XDG_CACHE_HOME/racerig or ~/.cache/racerig.
std::filesystem::path default_cache_root();

// Lines of a failed build log worth showing: compiler errors with a little
// context, linker errors, make's "Error" lines.
std::string build_error_lines(const std::string& log, size_t max_lines = 40);

}  // namespace racerig::kbuild
