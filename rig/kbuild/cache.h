// The content-addressed kernel build cache.
//
// Kernel bases are data (kernels/variants.textproto): a base names a Debian
// linux-source package and a config fragment; every variant names its base.
// Layout under the cache root (never inside the checkout):
//   trees/<base-key>/src      one work tree per base (package, version,
//                             fragment): Debian's tarball, extracted,
//                             committed to git (tag racerig-pristine),
//                             configured, built
//   kernels/<variant-key>/    bzImage vmlinux System.map .config meta
//   logs/                     full build logs
// A variant's key hashes its base's source package, version and fragment and
// every patch's content in order. Variants are built incrementally in the one
// work tree: restore the pristine sources (only changed files are rewritten,
// so make rebuilds just those), apply the patches, make bzImage, publish the
// outputs atomically. A file lock serialises builders of a tree.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/kbuild/patches.h"

namespace racerig::kbuild {

struct KernelBuild {
  std::string variant;
  std::string base;  // the KernelBase's name, "6.1"
  std::string key;
  std::string build_id;
  std::filesystem::path dir, bzimage, vmlinux, system_map, config;
  bool cached = false;   // nothing was compiled
  double seconds = 0;    // wall time of this call
};

// Progress of a build; stage() for steps, compile() for make's "CC x.o" lines.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void stage(const std::string& variant, const std::string& what) = 0;
  virtual void compile(const std::string& variant, const std::string& line) = 0;
};

// A base as the machine has it: the variants file's entry, the installed
// package version and the fragment's text.
struct BaseSource {
  pb::KernelBase base;
  std::string version;   // dpkg's version of base.source_package
  std::string fragment;  // content of base.config_fragment
};

class Cache {
 public:
  // kernels_dir: the repo's kernels/ (variants.textproto, the fragments).
  // Bases are read when used, so a missing package only fails its variants.
  static Result<Cache> open(const std::filesystem::path& kernels_dir, const std::filesystem::path& root);

  // Every variant must name a base the file defines (kInput with file and
  // variant otherwise).
  Result<std::vector<pb::Variant>> variants() const;
  Result<std::vector<pb::KernelBase>> bases() const;
  // The variant's base with its installed version and fragment; a package
  // that is not installed is a kIo error naming it.
  Result<BaseSource> base_of(const pb::Variant& variant) const;
  // The same for a base entry: its installed version and fragment.
  Result<BaseSource> source_of(const pb::KernelBase& base) const;
  // Unknown names are kInput errors listing the known ones.
  Result<pb::Variant> variant(std::string_view name) const;

  // The cache key of base + extra patches (read from disk).
  Result<std::string> key(const pb::Variant& variant, const std::vector<PatchFile>& extra = {}) const;
  std::optional<KernelBuild> find(const pb::Variant& variant) const;

  // Builds (or finds) the variant. Blocks for minutes on a cold cache.
  Result<KernelBuild> build(const pb::Variant& variant, ProgressSink& progress) const;
  // base + extra patch files, as a variant named "<base>+<first patch stem>".
  // Unreadable/empty/binary patches are kInput; apply/compile failures kBuild.
  Result<KernelBuild> build_with_patches(const pb::Variant& base, const std::vector<std::filesystem::path>& extra,
                                         ProgressSink& progress) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  Result<pb::VariantSet> load_set() const;
  Result<std::vector<PatchFile>> variant_patches(const pb::Variant& variant) const;
  Result<KernelBuild> build_patches(const std::string& name, const BaseSource& base,
                                    const std::vector<PatchFile>& patches, ProgressSink& progress) const;
  Status prepare_tree(const std::filesystem::path& tree, const BaseSource& base, ProgressSink& progress,
                      const std::string& name) const;
  std::optional<KernelBuild> load(const std::string& name, const std::string& key) const;

  std::filesystem::path kernels_dir_;
  std::filesystem::path root_;
};

// The key of a base's work tree: package, version and fragment.
std::string base_key(const BaseSource& base);
// A variant's key: the base's material and every patch's content in order.
std::string variant_key(const BaseSource& base, const std::vector<PatchFile>& patches);

// $RACERIG_CACHE, else /var/cache/racerig as root, else
// $XDG_CACHE_HOME/racerig or ~/.cache/racerig.
std::filesystem::path default_cache_root();

// Lines of a failed build log worth showing: compiler errors with a little
// context, linker errors, make's "Error" lines.
std::string build_error_lines(const std::string& log, size_t max_lines = 40);

std::string sha256_hex(std::string_view data);

}  // namespace racerig::kbuild
