// Kernel lookups shared by the commands: open the cache, build on demand
// with progress on stderr, and hand the files to a run.
#include <unistd.h>

#include <cstdio>

#include "host/cli_util.h"
#include "rig/kbuild/cache.h"
#include "rig/run/run.h"

namespace racerig::host {

namespace {

// One updating status line on a terminal; plain stage lines otherwise.
class TerminalProgress : public kbuild::ProgressSink {
 public:
  TerminalProgress() : tty_(isatty(STDERR_FILENO) != 0) {}
  ~TerminalProgress() override { clear(); }
  void stage(const std::string& variant, const std::string& what) override {
    clear();
    std::fprintf(stderr, "racerig: kernel %s: %s\n", variant.c_str(), what.c_str());
  }
  void compile(const std::string& variant, const std::string& line) override {
    ++count_;
    if (!tty_) return;
    std::string text = line.substr(line.find_first_not_of(' '));
    std::fprintf(stderr, "\r\033[K  [%s] %5d  %.60s", variant.c_str(), count_, text.c_str());
    std::fflush(stderr);
    dirty_ = true;
  }
  int compiled() const { return count_; }

 private:
  void clear() {
    if (dirty_) std::fprintf(stderr, "\r\033[K");
    dirty_ = false;
  }
  bool tty_;
  bool dirty_ = false;
  int count_ = 0;
};

run::KernelFiles files_of(const kbuild::KernelBuild& b) {
  return run::KernelFiles{b.variant, b.build_id, b.bzimage, b.vmlinux};
}

}  // namespace

std::filesystem::path work_dir() { return kbuild::default_cache_root() / "work"; }

Result<kbuild::Cache> open_cache(const std::filesystem::path& root) {
  return kbuild::Cache::open(std::filesystem::path(repo_root()) / "kernels",
                             root.empty() ? kbuild::default_cache_root() : root);
}

Result<run::KernelFiles> ensure_kernel(const std::string& name) {
  RACERIG_ASSIGN(kbuild::Cache cache, open_cache());
  RACERIG_ASSIGN(pb::Variant variant, cache.variant(name));
  if (auto hit = cache.find(variant)) return files_of(*hit);
  TerminalProgress progress;
  RACERIG_ASSIGN(kbuild::KernelBuild b, cache.build(variant, progress));
  return files_of(b);
}

Result<run::KernelFiles> ensure_patched_kernel(const std::string& base,
                                               const std::vector<std::filesystem::path>& patches) {
  RACERIG_ASSIGN(kbuild::Cache cache, open_cache());
  RACERIG_ASSIGN(pb::Variant variant, cache.variant(base));
  TerminalProgress progress;
  RACERIG_ASSIGN(kbuild::KernelBuild b, cache.build_with_patches(variant, patches, progress));
  return files_of(b);
}

namespace {

int kernel_list() {
  auto cache = open_cache();
  if (!cache.ok()) return report_error("kernel", cache.error());
  auto variants = cache->variants();
  if (!variants.ok()) return report_error("kernel list", variants.error());
  std::printf("%-12s %-10s %-26s %s\n", "variant", "state", "key", "description");
  for (const auto& v : *variants) {
    auto key = cache->key(v);
    auto hit = cache->find(v);
    std::printf("%-12s %-10s %-26s %s\n", v.name().c_str(), hit ? "built" : "not built",
                key.ok() ? key->c_str() : ("error: " + key.error().message).c_str(), v.description().c_str());
    if (hit) std::printf("%-12s %s\n", "", hit->dir.c_str());
  }
  std::printf("cache: %s (source: linux-source-6.1 %s)\n", cache->root().c_str(), cache->source_version().c_str());
  return kExitOk;
}

struct PathOptions {
  std::string variant;
  bool vmlinux = false, bzimage = false;
};

int kernel_path(const PathOptions& args) {
  auto cache = open_cache();
  if (!cache.ok()) return report_error("kernel", cache.error());
  const std::string& name = args.variant;
  auto v = cache->variant(name);
  if (!v.ok()) return report_error("kernel path", v.error());
  auto hit = cache->find(*v);
  if (!hit) {
    std::fprintf(stderr, "racerig: kernel %s is not built (racerig kernel build %s)\n", name.c_str(), name.c_str());
    return kExitNegative;
  }
  std::printf("%s\n", (args.vmlinux ? hit->vmlinux : args.bzimage ? hit->bzimage : hit->dir).c_str());
  return kExitOk;
}

int kernel_build(const std::vector<std::string>& pos) {
  auto cache = open_cache();
  if (!cache.ok()) return report_error("kernel", cache.error());
  int status = kExitOk;
  for (size_t i = 0; i < pos.size(); ++i) {
    auto v = cache->variant(pos[i]);
    if (!v.ok()) return report_error("kernel build", v.error());
    TerminalProgress progress;
    auto b = cache->build(*v, progress);
    if (!b.ok()) {
      report_error("kernel build " + pos[i], b.error());
      status = b.error().kind == ErrorKind::kInput ? kExitUsage : kExitInfra;
      continue;
    }
    std::printf("%-12s %s  %s  %.1f s%s\n", b->variant.c_str(), b->cached ? "cached" : "built ", b->dir.c_str(),
                b->seconds, b->cached ? "" : (" (" + std::to_string(progress.compiled()) + " compile steps)").c_str());
  }
  return status;
}

}  // namespace

std::vector<Command> add_kernel_commands(CLI::App& root) {
  CLI::App* kernel = root.add_subcommand("kernel", "build, list and locate kernel variants (cached by content)");
  kernel->require_subcommand(1);
  std::vector<Command> out;

  auto variants = std::make_shared<std::vector<std::string>>();
  CLI::App* build = kernel->add_subcommand("build", "build kernel variants (incremental from one base tree, cached)");
  build->add_option("variants", *variants, "the variants (racerig kernel list)")->type_name("VARIANT")->required();
  out.push_back(Command{build, [variants] { return kernel_build(*variants); }});

  CLI::App* list = kernel->add_subcommand("list", "show the variants and whether each is built");
  out.push_back(Command{list, [] { return kernel_list(); }});

  auto path = std::make_shared<PathOptions>();
  CLI::App* where = kernel->add_subcommand("path", "print where a built variant's files are (its directory by default)");
  where->add_option("variant", path->variant, "the variant")->type_name("VARIANT")->required();
  auto* vmlinux = where->add_flag("--vmlinux", path->vmlinux, "print the vmlinux (with symbols) instead");
  where->add_flag("--bzimage", path->bzimage, "print the bzImage instead")->excludes(vmlinux);
  where->footer("Exit: 0 printed, 1 the variant is not built, 2 no such variant.");
  out.push_back(Command{where, [path] { return kernel_path(*path); }});
  return out;
}

}  // namespace racerig::host
