// The content-addressed kernel build cache (see cache.h).
#include "rig/kbuild/cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "proto/text_format.h"
#include "rig/base/file.h"
#include "rig/base/sha256.h"
#include "rig/kbuild/tree.h"
#include "rig/kbuild/worker.h"
#include "rig/process/process.h"
#include "rig/process/stale.h"

namespace racerig::kbuild {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Bump when the commands that make a tree or a kernel change: every key
// changes with it, so old entries are simply not found (and pruned).
constexpr char kRecipe[] = "racerig kbuild recipe 2 (sandboxed, make -jN bzImage)";
// Make steps of a cold build of the shipped config (measured), until a
// cold build here has recorded its own count.
constexpr int kColdStepsGuess = 1566;

process::Limits quick(int seconds) {
  process::Limits l;
  l.deadline = Deadline::after(std::chrono::seconds(seconds));
  return l;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// The tools' versions: a compiler upgrade is a different kernel.
Result<std::string> toolchain_versions() {
  std::string out;
  for (const char* tool : {"gcc", "ld", "make"}) {
    auto v = process::run_checked(process::Spec{{tool, "--version"}}, quick(30));
    if (!v.ok()) return make_error(ErrorKind::kIo, std::string("cannot run ") + tool + " (run ./dev setup): " + v.error().message);
    out += first_line(*v) + "\n";
  }
  return out;
}

Result<long> env_seconds(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long s = std::strtol(v, &end, 10);
  if (*end != '\0' || s <= 0 || s > 7 * 24 * 3600)
    return make_error(ErrorKind::kInput, std::string(name) + "=" + v + " is not a number of seconds (1..604800)");
  return s;
}

// Deletes a directory tree as a whole, also one a hostile build made hard
// to delete (no write permission on its directories).
void remove_tree(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!ec) return;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
  ::chmod(dir.c_str(), 0700);
  fs::remove_all(dir, ec);
}

std::string read_build_id(const Worker& worker, const fs::path& vmlinux) {
  // readelf parses what a (maybe hostile) build produced: as the worker.
  auto out = worker.run_tool({"readelf", "-n", vmlinux.string()}, quick(60));
  if (!out.ok()) return "";
  size_t at = out->find("Build ID: ");
  if (at == std::string::npos) return "";
  size_t end = out->find_first_of("\r\n", at);
  return out->substr(at + 10, end - at - 10);
}

// A relative path that stays inside kernels/.
bool inside_kernels(const std::string& path) {
  const fs::path p(path);
  bool escapes = p.is_absolute() || p.empty();
  for (const auto& part : p) escapes = escapes || part == "..";
  return !escapes;
}

}  // namespace

fs::path default_cache_root() {
  if (const char* env = std::getenv("RACERIG_CACHE"); env && *env) return env;
  if (::geteuid() == 0) return "/var/cache/racerig";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "racerig";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/tmp") / ".cache" / "racerig";
}

std::string build_error_lines(const std::string& log, size_t max_lines) {
  std::vector<std::string> lines;
  std::stringstream in(log);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::vector<bool> keep(lines.size(), false);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    bool compiler = l.find(": error:") != std::string::npos || l.find(": fatal error:") != std::string::npos ||
                    l.find("undefined reference") != std::string::npos;
    if (l.find("] Error ") != std::string::npos || l.find("*** ") != std::string::npos) keep[i] = true;
    if (!compiler) continue;
    // The "In function" line before, the source excerpt after.
    for (size_t j = (i >= 1 ? i - 1 : 0); j < std::min(lines.size(), i + 3); ++j) keep[j] = true;
  }
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < lines.size() && n < max_lines; ++i)
    if (keep[i]) {
      out += "    " + lines[i] + "\n";
      ++n;
    }
  return out;
}

Result<Cache> Cache::open(const fs::path& kernels_dir, const fs::path& root) {
  Cache c;
  c.kernels_dir_ = kernels_dir;
  c.root_ = root;
  RACERIG_ASSIGN(c.toolchain_, toolchain_versions());
  RACERIG_ASSIGN(c.worker_, process::worker_identity());
  RACERIG_ASSIGN(long limit, env_seconds("RACERIG_BUILD_TIME_LIMIT", 3600));
  c.time_limit_ = std::chrono::seconds(limit);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return make_error(ErrorKind::kIo, "cannot create the kernel cache " + root.string() + ": " + ec.message());
  c.remove_stale();
  return c;
}

void Cache::remove_stale() const {
  // Temporary outputs (kernels/<key>.tmp<pid>), candidate trees
  // (candidates/<key>.tmp<pid>) and templates being written
  // (work/pmem-templates/<name>.<pid>.new) of racerigs that are gone.
  for (const char* sub : {"kernels", "candidates", "work/pmem-templates"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root_ / sub, ec)) {
      auto pid = process::temp_name_pid(e.path().filename().string());
      if (!pid || process::pid_alive(*pid)) continue;
      remove_tree(e.path());
    }
  }
}

Result<pb::VariantSet> Cache::load_set() const {
  fs::path path = kernels_dir_ / "variants.textproto";
  auto text = read_file(path);
  if (!text.ok()) return make_error(ErrorKind::kInput, "cannot read " + path.string());
  pb::VariantSet set;
  RACERIG_TRY(proto::parse_text_format(*text, path.string(), &set));
  std::string bases;
  for (const auto& b : set.base()) {
    if (b.name().empty() || b.source_package().empty() || b.config_fragment().empty())
      return make_error(ErrorKind::kInput, path.string() + ": base \"" + b.name() +
                                               "\" needs a name, a source_package and a config_fragment");
    if (b.source_package().find('/') != std::string::npos || b.source_package().rfind("linux-source-", 0) != 0)
      return make_error(ErrorKind::kInput, path.string() + ": base \"" + b.name() + "\": source_package \"" +
                                               b.source_package() + "\" is not a Debian linux-source-X.Y package");
    // The fragment is read from kernels/ only.
    if (!inside_kernels(b.config_fragment()))
      return make_error(ErrorKind::kInput, path.string() + ": base \"" + b.name() + "\": config_fragment \"" +
                                               b.config_fragment() + "\" is not a path inside kernels/");
    bases += (bases.empty() ? "" : ", ") + b.name();
  }
  for (const auto& v : set.variant()) {
    if (v.name().empty()) return make_error(ErrorKind::kInput, path.string() + ": a variant has no name");
    if (!v.config_fragment().empty() && !inside_kernels(v.config_fragment()))
      return make_error(ErrorKind::kInput, path.string() + ": variant \"" + v.name() + "\": config_fragment \"" +
                                               v.config_fragment() + "\" is not a path inside kernels/");
    bool known = false;
    for (const auto& b : set.base()) known = known || b.name() == v.base();
    if (!known)
      return make_error(ErrorKind::kInput, path.string() + ": variant \"" + v.name() + "\" names base \"" + v.base() +
                                               "\", which the file does not define (bases: " +
                                               (bases.empty() ? "none" : bases) + ")");
  }
  return set;
}

Result<std::vector<pb::Variant>> Cache::variants() const {
  RACERIG_ASSIGN(pb::VariantSet set, load_set());
  return std::vector<pb::Variant>(set.variant().begin(), set.variant().end());
}

Result<std::vector<pb::KernelBase>> Cache::bases() const {
  RACERIG_ASSIGN(pb::VariantSet set, load_set());
  return std::vector<pb::KernelBase>(set.base().begin(), set.base().end());
}

Result<BaseSource> Cache::source_of(const pb::KernelBase& base) const {
  BaseSource out;
  out.base = base;
  // Debian's linux-source-X.Y ships /usr/src/linux-source-X.Y.tar.xz.
  out.tarball = fs::path("/usr/src") / (base.source_package() + ".tar.xz");
  out.toolchain = toolchain_;
  auto fragment = read_file(kernels_dir_ / base.config_fragment());
  if (!fragment.ok())
    return make_error(ErrorKind::kInput, "base " + base.name() + ": cannot read " +
                                             (kernels_dir_ / base.config_fragment()).string());
  out.fragment = std::move(*fragment);
  auto version =
      process::run_checked(process::Spec{{"dpkg-query", "-W", "-f=${Version}", base.source_package()}}, quick(30));
  if (!version.ok() || version->empty())
    return make_error(ErrorKind::kIo, "base " + base.name() + ": the Debian package " + base.source_package() +
                                          " is not installed (run ./dev setup)" +
                                          (version.ok() ? "" : ": " + version.error().message));
  out.version = *version;
  return out;
}

Result<BaseSource> Cache::base_of(const pb::Variant& variant) const {
  RACERIG_ASSIGN(pb::VariantSet set, load_set());
  for (const auto& b : set.base())
    if (b.name() == variant.base()) return source_of(b);
  return make_error(ErrorKind::kInput, "variant " + variant.name() + ": no base \"" + variant.base() + "\" in " +
                                           (kernels_dir_ / "variants.textproto").string());
}

Result<pb::Variant> Cache::variant(std::string_view name) const {
  RACERIG_ASSIGN(auto all, variants());
  std::string known;
  for (const auto& v : all) {
    if (v.name() == name) return v;
    known += (known.empty() ? "" : ", ") + v.name();
  }
  return make_error(ErrorKind::kInput, "unknown kernel variant \"" + std::string(name) + "\" (known: " + known + ")");
}

Result<std::vector<PatchFile>> Cache::variant_patches(const pb::Variant& variant) const {
  std::vector<PatchFile> out;
  for (const auto& p : variant.patches()) {
    auto patch = read_patch(kernels_dir_ / p);
    if (!patch.ok()) return patch.error().wrap("variant " + variant.name());
    out.push_back(std::move(*patch));
  }
  return out;
}

Result<VariantFragment> Cache::variant_fragment(const pb::Variant& variant) const {
  VariantFragment out{variant.name(), variant.config_fragment(), {}};
  if (variant.config_fragment().empty()) return out;
  auto text = read_file(kernels_dir_ / variant.config_fragment());
  if (!text.ok())
    return make_error(ErrorKind::kInput, "variant " + variant.name() + ": cannot read its config_fragment " +
                                             (kernels_dir_ / variant.config_fragment()).string());
  if (fragment_options(*text).empty())
    return make_error(ErrorKind::kInput, "variant " + variant.name() + ": its config_fragment " +
                                             variant.config_fragment() + " sets no CONFIG_ option");
  out.text = std::move(*text);
  return out;
}

namespace {
// What a base puts into every key. (Unchanged from before bases were data,
// so the 6.1 base keeps its keys: the same package, version and fragment
// build the same kernel whatever the base is called.)
std::string base_material(const BaseSource& base) {
  return std::string(kRecipe) + '\0' + base.toolchain + '\0' + base.package() + ' ' + base.version + '\0' +
         base.fragment;
}
}  // namespace

std::string Cache::tree_key(const BaseSource& base) { return sha256_hex(base_material(base)).substr(0, 16); }

fs::path Cache::tree_dir(const BaseSource& base) const { return root_ / "trees" / tree_key(base); }

fs::path Cache::tree_inside(const BaseSource& base) const {
  // For seeding a cache with a tree built elsewhere (kbuild's objtool
  // records absolute paths): RACERIG_TREE_PATH_INSIDE names the path it
  // was built at. It applies to every base: set it only while building
  // the one base it was seeded for. Not needed otherwise.
  if (const char* at = std::getenv("RACERIG_TREE_PATH_INSIDE"); at != nullptr && *at == '/') return at;
  return tree_dir(base) / "src";
}

std::string Cache::key_of(const BaseSource& base, const std::vector<PatchFile>& patches,
                          const VariantFragment& fragment) {
  std::string material = base_material(base);
  for (const auto& p : patches) material += '\0' + std::to_string(p.content.size()) + ':' + p.content;
  // Only a variant with a fragment of its own adds it: the others keep
  // the keys they had before variants could have one.
  if (!fragment.text.empty())
    material += std::string("\0config fragment ") + std::to_string(fragment.text.size()) + ':' + fragment.text;
  return sha256_hex(material).substr(0, 24);
}

Result<std::string> Cache::key(const pb::Variant& variant, const std::vector<PatchFile>& extra) const {
  RACERIG_ASSIGN(BaseSource base, base_of(variant));
  RACERIG_ASSIGN(auto patches, variant_patches(variant));
  RACERIG_ASSIGN(VariantFragment fragment, variant_fragment(variant));
  patches.insert(patches.end(), extra.begin(), extra.end());
  return key_of(base, patches, fragment);
}

std::optional<KernelBuild> Cache::load(const std::string& name, const std::string& key) const {
  fs::path dir = root_ / "kernels" / key;
  std::error_code ec;
  if (!fs::exists(dir / "meta", ec)) return std::nullopt;
  KernelBuild b;
  b.variant = name;
  b.key = key;
  b.dir = dir;
  b.bzimage = dir / "bzImage";
  b.vmlinux = dir / "vmlinux";
  b.system_map = dir / "System.map";
  b.config = dir / ".config";
  auto meta = read_file(dir / "meta");
  if (meta.ok()) {
    std::stringstream in(*meta);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("build_id=", 0) == 0) b.build_id = line.substr(9);
      if (line.rfind("base=", 0) == 0) b.base = line.substr(5);
    }
  }
  // When it was last used, for `racerig cache prune`.
  (void)write_file(dir / "used", "");
  b.cached = true;
  return b;
}

std::optional<KernelBuild> Cache::find(const pb::Variant& variant) const {
  auto k = key(variant);
  if (!k.ok()) return std::nullopt;
  return load(variant.name(), *k);
}

namespace {

// Publishes the outputs of `tree` as kernels/<key> (atomically: a
// temporary directory renamed into place).
Result<KernelBuild> publish(const fs::path& root, const Tree& tree, const Worker& worker, const std::string& name,
                            const std::string& key, const BaseSource& base, const std::vector<PatchFile>& patches) {
  fs::path out = root / "kernels" / key;
  fs::path tmp = root / "kernels" / (key + ".tmp" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return make_error(ErrorKind::kIo, "creating " + tmp.string() + ": " + ec.message());
  if (Status s = copy_outputs(tree, tmp); !s.ok()) {
    fs::remove_all(tmp, ec);
    return s.error();
  }
  std::string build_id = read_build_id(worker, tmp / "vmlinux");
  std::string meta = "variant=" + name + "\nkey=" + key + "\nbase=" + base.base.name() + "\nsource=" + base.package() +
                     " " + base.version + "\nbuild_id=" + build_id + "\n";
  for (const auto& p : patches) meta += "patch=" + p.path.filename().string() + "\n";
  RACERIG_TRY(write_file(tmp / "meta", meta));
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    if (!fs::exists(out / "meta")) return make_error(ErrorKind::kIo, "publishing " + out.string());
  }
  KernelBuild b;
  b.variant = name;
  b.base = base.base.name();
  b.key = key;
  b.dir = out;
  b.bzimage = out / "bzImage";
  b.vmlinux = out / "vmlinux";
  b.system_map = out / "System.map";
  b.config = out / ".config";
  b.build_id = build_id;
  return b;
}

}  // namespace

Result<KernelBuild> Cache::build_trusted(const std::string& name, const BaseSource& base,
                                         const std::vector<PatchFile>& patches, const VariantFragment& fragment,
                                         ProgressSink& progress, bool keep_tree_at_variant) const {
  const auto t0 = Clock::now();
  const std::string key = key_of(base, patches, fragment);
  if (!keep_tree_at_variant)
    if (auto hit = load(name, key)) return *hit;
  auto stage = [&](const std::string& what) { progress.stage(name, what); };
  RACERIG_ASSIGN(ScopedFd lock, lock_trusted_tree(name, base, stage));
  RACERIG_ASSIGN(KernelBuild built,
                 build_trusted_locked(name, base, patches, fragment, progress, keep_tree_at_variant));
  built.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return built;
}

Result<ScopedFd> Cache::lock_trusted_tree(const std::string& name, const BaseSource& base,
                                          const std::function<void(const std::string&)>& stage) const {
  const Worker worker(worker_, {root_});
  RACERIG_TRY(worker.make_dir(root_ / "trees"));
  return lock_tree(root_ / "trees" / (tree_key(base) + ".lock"), name, Deadline::after(std::chrono::hours(2)),
                   stage);
}

Result<KernelBuild> Cache::build_trusted_locked(const std::string& name, const BaseSource& base,
                                                const std::vector<PatchFile>& patches,
                                                const VariantFragment& fragment, ProgressSink& progress,
                                                bool keep_tree_at_variant) const {
  const std::string key = key_of(base, patches, fragment);
  auto stage = [&](const std::string& what) { progress.stage(name, what); };
  // The tarball is the one host file the build reads besides the toolchain.
  const Worker worker(worker_, {root_}, tree_inside(base), {base.tarball});
  const Tree tree{tree_dir(base)};
  const auto applied = read_file(tree.dir / ".applied");
  const bool at_variant = applied.ok() && *applied == key && !fs::exists(tree.dir / ".building");
  if (auto hit = load(name, key); hit && (!keep_tree_at_variant || at_variant)) return *hit;  // built meanwhile

  std::error_code ec;
  fs::create_directories(root_ / "logs", ec);
  RACERIG_TRY(prepare_tree(tree, worker, base.tarball, base.package(), base.version, base.fragment,
                           base.base.config_fragment(), root_ / "logs" / ("tree-" + tree_key(base) + ".log"),
                           stage));
  RACERIG_ASSIGN(int undone, undo_interrupted_build(tree));
  if (undone > 0) stage("the last build in this tree was interrupted: deleted the " + std::to_string(undone) +
                        " files it wrote");
  if (!at_variant) {
    RACERIG_TRY(write_file(tree.dir / ".applied", ""));
    RACERIG_TRY(restore_and_apply(tree, worker, patches, stage));
    RACERIG_TRY(configure_variant(tree, worker, base.fragment, base.base.config_fragment(), fragment,
                                  base.package() + " " + base.version, stage));
    RACERIG_TRY(write_file(tree.dir / ".applied", key));
  }
  fs::path log = root_ / "logs" / (name + "-" + key + ".log");
  fs::remove(log, ec);
  stage("make bzImage (log: " + log.string() + ")");
  const bool cold = !fs::exists(tree.src() / "vmlinux");
  int estimate = cold ? recorded_steps(tree, "steps-cold") : recorded_steps(tree, "steps-last");
  if (cold && estimate == 0) estimate = kColdStepsGuess;
  RACERIG_TRY(make_kernel(tree, worker, name, time_limit_, log, progress, estimate));
  // Rebuilt only to bring the tree to this variant: the published kernel stays.
  if (auto hit = load(name, key)) return *hit;
  stage("publishing outputs");
  RACERIG_ASSIGN(KernelBuild built, publish(root_, tree, worker, name, key, base, patches));
  built.cached = false;
  return built;
}

Result<KernelBuild> Cache::build(const pb::Variant& variant, ProgressSink& progress) const {
  RACERIG_ASSIGN(BaseSource base, base_of(variant));
  RACERIG_ASSIGN(auto patches, variant_patches(variant));
  RACERIG_ASSIGN(VariantFragment fragment, variant_fragment(variant));
  return build_trusted(variant.name(), base, patches, fragment, progress, false);
}

Result<KernelBuild> Cache::build_with_patches(const pb::Variant& base, const std::vector<PatchFile>& extra,
                                              ProgressSink& progress) const {
  const auto t0 = Clock::now();
  RACERIG_ASSIGN(BaseSource source, base_of(base));
  RACERIG_ASSIGN(auto base_patches, variant_patches(base));
  RACERIG_ASSIGN(VariantFragment fragment, variant_fragment(base));
  std::string name = base.name();
  for (const auto& p : extra) name += "+" + p.path.stem().string();
  std::vector<PatchFile> all = base_patches;
  all.insert(all.end(), extra.begin(), extra.end());
  const std::string key = key_of(source, all, fragment);
  if (auto hit = load(name, key)) return *hit;
  auto stage = [&](const std::string& what) { progress.stage(name, what); };
  const Worker worker(worker_, {root_});

  // The candidate's own tree: a copy of the trusted tree with the base
  // variant applied and built (its objects make the build incremental).
  // Nothing of it flows back: it is deleted afterwards, whatever happens.
  const Tree candidate{root_ / "candidates" / (key + ".tmp" + std::to_string(::getpid()))};
  struct Discard {
    fs::path dir;
    ~Discard() { remove_tree(dir); }
  } discard{candidate.dir};
  {
    RACERIG_ASSIGN(ScopedFd lock, lock_trusted_tree(name, source, stage));
    // The copy carries the base variant's configuration (its fragment too).
    RACERIG_ASSIGN(KernelBuild control,
                   build_trusted_locked(base.name(), source, base_patches, fragment, progress, true));
    (void)control;
    // A patch that does not apply is known now, before gigabytes are copied.
    stage("checking that the patches apply");
    const Tree trial{root_ / "candidates" / (key + ".trial" + std::to_string(::getpid()))};
    Discard discard_trial{trial.dir};
    remove_tree(trial.dir);
    RACERIG_TRY(trial_apply(trial, tree_dir(source) / "src", worker, extra));
    remove_tree(candidate.dir);
    RACERIG_TRY(worker.make_dir(candidate.dir));
    stage("copying the trusted tree at " + base.name() + " to " + candidate.dir.string());
    process::Limits copy_limit = quick(1800);
    // Without git's history and the big link intermediates (the link is
    // redone anyway): a third less to copy. git apply needs no repository.
    // cp -a copies in the kernel (copy_file_range): measured twice as fast
    // as a tar pipe on this tree (23 s against 43 s).
    const std::string copy =
        "set -e; mkdir \"$2\"; cd \"$1\"; find . -mindepth 1 -maxdepth 1 ! -name .git ! -name vmlinux "
        "! -name vmlinux.o ! -name '.tmp_vmlinux*' -exec cp -a -t \"$2\" -- {} +";
    process::Spec cp{{"bash", "-c", copy, "copy", (tree_dir(source) / "src").string(), candidate.src().string()},
                     candidate.dir};
    cp.env = build_environment();
    cp.identity = worker_;
    RACERIG_TRY(process::run_checked(cp, copy_limit));
  }
  // The candidate builds where the trusted tree is, as the sandbox shows it.
  const Worker candidate_worker(worker_, {root_}, tree_inside(source));
  RACERIG_TRY(apply_patches(candidate, candidate_worker, extra, stage));
  std::error_code ec;
  fs::path log = root_ / "logs" / (name + "-" + key + ".log");
  fs::remove(log, ec);
  stage("make bzImage in a sandbox, at most " + std::to_string(time_limit_.count()) + " s (log: " + log.string() + ")");
  RACERIG_TRY(make_kernel(candidate, candidate_worker, name, time_limit_, log, progress,
                          recorded_steps(Tree{tree_dir(source)}, "steps-last")));
  stage("publishing outputs");
  RACERIG_ASSIGN(KernelBuild built, publish(root_, candidate, worker, name, key, source, all));
  built.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return built;
}

}  // namespace racerig::kbuild
