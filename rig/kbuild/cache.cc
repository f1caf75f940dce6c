// The content-addressed kernel build cache (see cache.h).
#include "rig/kbuild/cache.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "rig/base/scoped_fd.h"
#include "rig/kbuild/subprocess.h"

namespace racerig::kbuild {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr char kPristineTag[] = "racerig-pristine";

// Debian's linux-source-X.Y ships /usr/src/linux-source-X.Y.tar.xz, whose top
// directory is linux-source-X.Y/.
fs::path tarball_of(const std::string& package) { return fs::path("/usr/src") / (package + ".tar.xz"); }

Result<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return make_error(ErrorKind::kInput, "cannot read " + p.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Status write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) return errno_error("writing " + p.string());
  return Status::Ok();
}

class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  explicit FirstError(std::string file) : file_(std::move(file)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber col, const std::string& msg) override {
    if (first.empty()) first = file_ + ":" + std::to_string(line + 1) + ":" + std::to_string(col + 1) + ": " + msg;
  }
  std::string first;

 private:
  std::string file_;
};

// flock(LOCK_EX) with a deadline; released when the fd closes.
Result<ScopedFd> lock_file(const fs::path& path, Deadline deadline) {
  ScopedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("opening lock " + path.string());
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_error("locking " + path.string());
    if (deadline.expired())
      return make_error(ErrorKind::kTimeout, "another racerig is still building in " + path.parent_path().string());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return fd;
}

std::string read_build_id(const fs::path& vmlinux) {
  auto out = run_checked(Command{{"readelf", "-n", vmlinux.string()}}, Deadline::after(std::chrono::seconds(60)));
  if (!out.ok()) return "";
  size_t at = out->find("Build ID: ");
  if (at == std::string::npos) return "";
  size_t end = out->find_first_of("\r\n", at);
  return out->substr(at + 10, end - at - 10);
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

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
    if (l.find("] Error ") != std::string::npos) keep[i] = true;
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
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return make_error(ErrorKind::kIo, "cannot create the kernel cache " + root.string() + ": " + ec.message());
  return c;
}

Result<pb::VariantSet> Cache::load_set() const {
  fs::path path = kernels_dir_ / "variants.textproto";
  RACERIG_ASSIGN(std::string text, read_file(path));
  pb::VariantSet set;
  google::protobuf::TextFormat::Parser parser;
  FirstError errors(path.string());
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &set)) return make_error(ErrorKind::kInput, errors.first);
  std::string bases;
  for (const auto& b : set.base()) {
    if (b.name().empty() || b.source_package().empty() || b.config_fragment().empty())
      return make_error(ErrorKind::kInput, path.string() + ": base \"" + b.name() +
                                               "\" needs a name, a source_package and a config_fragment");
    if (b.source_package().find('/') != std::string::npos || b.source_package().rfind("linux-source-", 0) != 0)
      return make_error(ErrorKind::kInput, path.string() + ": base \"" + b.name() + "\": source_package \"" +
                                               b.source_package() + "\" is not a Debian linux-source-X.Y package");
    bases += (bases.empty() ? "" : ", ") + b.name();
  }
  for (const auto& v : set.variant()) {
    if (v.name().empty()) return make_error(ErrorKind::kInput, path.string() + ": a variant has no name");
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
  auto fragment = read_file(kernels_dir_ / base.config_fragment());
  if (!fragment.ok()) return fragment.error().wrap("base " + base.name());
  out.fragment = std::move(*fragment);
  auto version = run_checked(Command{{"dpkg-query", "-W", "-f=${Version}", base.source_package()}},
                             Deadline::after(std::chrono::seconds(30)));
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

namespace {
std::string base_material(const BaseSource& base) {
  return base.base.source_package() + '\0' + base.version + '\0' + base.fragment;
}
}  // namespace

std::string base_key(const BaseSource& base) { return sha256_hex(base_material(base)).substr(0, 16); }

std::string variant_key(const BaseSource& base, const std::vector<PatchFile>& patches) {
  std::string material = base_material(base);
  for (const auto& p : patches) material += '\0' + p.content;
  return sha256_hex(material).substr(0, 24);
}

Result<std::string> Cache::key(const pb::Variant& variant, const std::vector<PatchFile>& extra) const {
  RACERIG_ASSIGN(BaseSource base, base_of(variant));
  RACERIG_ASSIGN(auto patches, variant_patches(variant));
  patches.insert(patches.end(), extra.begin(), extra.end());
  return variant_key(base, patches);
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
  b.cached = true;
  return b;
}

std::optional<KernelBuild> Cache::find(const pb::Variant& variant) const {
  auto k = key(variant);
  if (!k.ok()) return std::nullopt;
  return load(variant.name(), *k);
}

Status Cache::prepare_tree(const fs::path& tree, const BaseSource& base, ProgressSink& progress,
                           const std::string& name) const {
  const std::string& package = base.base.source_package();
  const fs::path tarball = tarball_of(package);
  fs::path src = tree / "src";
  if (fs::exists(tree / ".ready")) return Status::Ok();
  std::error_code ec;
  fs::remove_all(tree, ec);
  fs::create_directories(tree, ec);
  const Deadline long_step = Deadline::after(std::chrono::minutes(30));
  fs::path log = root_ / "logs" / ("base-" + base_key(base) + ".log");
  fs::create_directories(log.parent_path(), ec);
  progress.stage(name, "extracting " + tarball.string() + " (base " + base.base.name() + ")");
  RACERIG_TRY(run_checked(Command{{"tar", "-xJf", tarball.string(), "-C", tree.string()}, {}, log}, long_step));
  fs::rename(tree / package, src, ec);
  if (ec) return make_error(ErrorKind::kIo, tarball.string() + " did not contain " + package + "/");
  progress.stage(name, "recording the pristine sources in git");
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"git", "-c", "user.name=racerig", "-c", "user.email=racerig@localhost",
                                     "-c", "core.autocrlf=false"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_checked(Command{argv, src, log}, long_step);
  };
  RACERIG_TRY(git({"init", "-q"}));
  RACERIG_TRY(git({"add", "-A", "-f", "."}));
  RACERIG_TRY(git({"commit", "-q", "-m", "Debian " + package + " " + base.version}));
  RACERIG_TRY(git({"tag", kPristineTag}));
  progress.stage(name, "configuring (tinyconfig + " + base.base.config_fragment() + ")");
  RACERIG_TRY(write_file(tree / "config.fragment", base.fragment));
  RACERIG_TRY(run_checked(Command{{"make", "tinyconfig"}, src, log}, long_step));
  RACERIG_TRY(run_checked(
      Command{{"scripts/kconfig/merge_config.sh", "-m", ".config", (tree / "config.fragment").string()}, src, log},
      long_step));
  RACERIG_TRY(run_checked(Command{{"make", "olddefconfig"}, src, log}, long_step));
  // Every fragment line must have survived olddefconfig.
  RACERIG_ASSIGN(std::string config, read_file(src / ".config"));
  std::string missing;
  std::stringstream frag(base.fragment);
  for (std::string line; std::getline(frag, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string opt = line.substr(0, eq), val = line.substr(eq + 1);
    bool ok = val == "n" ? config.find("\n" + opt + "=") == std::string::npos
                         : config.find("\n" + line + "\n") != std::string::npos;
    if (!ok) missing += " " + line;
  }
  if (!missing.empty())
    return make_error(ErrorKind::kBuild, base.base.config_fragment() + " options that did not survive olddefconfig on " +
                                             package + " " + base.version + ":" + missing);
  return write_file(tree / ".ready", package + " " + base.version + "\n");
}

Result<KernelBuild> Cache::build_patches(const std::string& name, const BaseSource& base,
                                         const std::vector<PatchFile>& patches, ProgressSink& progress) const {
  const auto t0 = Clock::now();
  const std::string key = variant_key(base, patches);
  if (auto hit = load(name, key)) return *hit;

  const std::string tree_key = base_key(base);
  const fs::path tree = root_ / "trees" / tree_key;
  std::error_code ec;
  fs::create_directories(tree.parent_path(), ec);
  RACERIG_ASSIGN(ScopedFd lock, lock_file(tree.parent_path() / (tree_key + ".lock"), Deadline::after(std::chrono::hours(1))));
  if (auto hit = load(name, key)) return *hit;  // built by someone else meanwhile
  RACERIG_TRY(prepare_tree(tree, base, progress, name));
  const fs::path src = tree / "src";
  const Deadline step = Deadline::after(std::chrono::minutes(10));

  auto applied = read_file(tree / ".applied");
  if (!applied.ok() || *applied != key) {
    progress.stage(name, "restoring pristine sources");
    RACERIG_TRY(write_file(tree / ".applied", ""));
    RACERIG_TRY(run_checked(Command{{"git", "reset", "-q", "--hard", kPristineTag}, src}, step));
    RACERIG_TRY(run_checked(Command{{"git", "clean", "-q", "-f", "-d"}, src}, step));
    for (const auto& p : patches) {
      progress.stage(name, "applying " + p.path.filename().string() + " (" + patch_kind_name(p.kind) + ")");
      RACERIG_TRY(apply_patch(p, src, step));
    }
    RACERIG_TRY(write_file(tree / ".applied", key));
  }

  fs::path log = root_ / "logs" / (name + "-" + key + ".log");
  fs::create_directories(log.parent_path(), ec);
  fs::remove(log, ec);
  progress.stage(name, "make bzImage (log: " + log.string() + ")");
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  Command make{{"make", "-j" + std::to_string(jobs), "bzImage"}, src, log};
  RACERIG_ASSIGN(Exit made, run_command(make, Deadline::after(std::chrono::hours(1)), [&](const std::string& line) {
    if (line.rfind("  CC", 0) == 0 || line.rfind("  LD", 0) == 0 || line.rfind("  AR", 0) == 0) progress.compile(name, line);
  }));
  if (made.code != 0) {
    auto full = read_file(log);
    return make_error(ErrorKind::kBuild, "the kernel " + name + " does not build:\n" +
                                             build_error_lines(full.ok() ? *full : made.output) +
                                             "  full log: " + log.string());
  }
  progress.stage(name, "publishing outputs");
  fs::path out = root_ / "kernels" / key;
  fs::path tmp = root_ / "kernels" / (key + ".tmp" + std::to_string(::getpid()));
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  for (const auto& [from, to] : std::vector<std::pair<fs::path, std::string>>{
           {src / "arch/x86/boot/bzImage", "bzImage"},
           {src / "vmlinux", "vmlinux"},
           {src / "System.map", "System.map"},
           {src / ".config", ".config"}}) {
    fs::copy_file(from, tmp / to, fs::copy_options::overwrite_existing, ec);
    if (ec) return make_error(ErrorKind::kIo, "copying " + from.string() + ": " + ec.message());
  }
  std::string build_id = read_build_id(tmp / "vmlinux");
  std::string meta = "variant=" + name + "\nkey=" + key + "\nbase=" + base.base.name() + "\nsource=" +
                     base.base.source_package() + " " + base.version + "\nbuild_id=" + build_id + "\n";
  for (const auto& p : patches) meta += "patch=" + p.path.filename().string() + "\n";
  RACERIG_TRY(write_file(tmp / "meta", meta));
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    if (auto hit = load(name, key)) return *hit;
    return make_error(ErrorKind::kIo, "publishing " + out.string());
  }
  auto built = load(name, key);
  if (!built) return make_error(ErrorKind::kIo, "the published build vanished: " + out.string());
  built->cached = false;
  built->seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return *built;
}

Result<KernelBuild> Cache::build(const pb::Variant& variant, ProgressSink& progress) const {
  const auto t0 = Clock::now();
  RACERIG_ASSIGN(BaseSource base, base_of(variant));
  RACERIG_ASSIGN(auto patches, variant_patches(variant));
  RACERIG_ASSIGN(KernelBuild b, build_patches(variant.name(), base, patches, progress));
  b.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return b;
}

Result<KernelBuild> Cache::build_with_patches(const pb::Variant& base, const std::vector<fs::path>& extra,
                                              ProgressSink& progress) const {
  const auto t0 = Clock::now();
  RACERIG_ASSIGN(BaseSource source, base_of(base));
  RACERIG_ASSIGN(auto patches, variant_patches(base));
  std::string name = base.name();
  for (const auto& p : extra) {
    RACERIG_ASSIGN(PatchFile patch, read_patch(p));
    patches.push_back(std::move(patch));
    name += "+" + p.stem().string();
  }
  RACERIG_ASSIGN(KernelBuild b, build_patches(name, source, patches, progress));
  b.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return b;
}

}  // namespace racerig::kbuild
