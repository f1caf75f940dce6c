// racerig kernel build|list|path: the kernel variants in the cache.
#include <unistd.h>

#include <cstdio>

#include "host/cli_util.h"
#include "host/terminal_progress.h"
#include "host/version.h"
#include "rig/jobs/kernels.h"
#include "rig/kbuild/cache.h"
#include "rig/machine/run_dir.h"
#include "rig/process/cancel.h"
#include "rig/run/run.h"

namespace racerig::host {

namespace {

int kernel_list() {
  auto cache = open_cache();
  if (!cache.ok()) return report_error("kernel", cache.error());
  auto variants = cache->variants();
  if (!variants.ok()) return report_error("kernel list", variants.error());
  auto bases = cache->bases();
  if (!bases.ok()) return report_error("kernel list", bases.error());
  std::printf("%-16s %-6s %-10s %-26s %s\n", "variant", "base", "state", "key", "description");
  for (const auto& v : *variants) {
    auto key = cache->key(v);
    auto hit = cache->find(v);
    std::printf("%-16s %-6s %-10s %-26s %s\n", v.name().c_str(), v.base().c_str(), hit ? "built" : "not built",
                key.ok() ? key->c_str() : ("error: " + key.error().message).c_str(), v.description().c_str());
    if (hit) std::printf("%-16s %s\n", "", hit->dir.c_str());
  }
  for (const auto& b : *bases) {
    auto source = cache->source_of(b);
    std::printf("base %-6s %s %s, %s\n", b.name().c_str(), b.source_package().c_str(),
                source.ok() ? source->version.c_str() : ("(" + source.error().message + ")").c_str(),
                b.config_fragment().c_str());
  }
  std::printf("cache: %s\n", cache->root().c_str());
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
      if (b.error().kind == ErrorKind::kCancelled) return status;
      continue;
    }
    std::printf("%-16s %s  %s  %.1f s%s\n", b->variant.c_str(), b->cached ? "cached" : "built ", b->dir.c_str(),
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
