// Kernel lookups for jobs (see kernels.h).
#include "rig/jobs/kernels.h"

#include "rig/machine/run_dir.h"

namespace racerig::jobs {

namespace {

run::KernelFiles files_of(const kbuild::KernelBuild& b) {
  return run::KernelFiles{b.variant, b.build_id, b.bzimage, b.vmlinux};
}

}  // namespace

JobEnv default_env(const std::filesystem::path& repo_root) {
  JobEnv env;
  env.repo_root = repo_root;
  env.cache_root = kbuild::default_cache_root();
  env.work_dir = env.cache_root / "work";
  return env;
}

Result<kbuild::Cache> open_cache(const JobEnv& env) {
  machine::remove_stale_run_dirs();
  return kbuild::Cache::open(env.kernels_dir(), env.cache_root);
}

Result<std::vector<kbuild::PatchFile>> read_patches(const std::vector<std::filesystem::path>& paths) {
  std::vector<kbuild::PatchFile> out;
  for (const auto& p : paths) {
    RACERIG_ASSIGN(kbuild::PatchFile patch, kbuild::read_patch(p));
    out.push_back(std::move(patch));
  }
  return out;
}

Result<run::KernelFiles> ensure_kernel(const JobEnv& env, const std::string& name, kbuild::ProgressSink& progress) {
  RACERIG_ASSIGN(kbuild::Cache cache, open_cache(env));
  RACERIG_ASSIGN(pb::Variant variant, cache.variant(name));
  if (auto hit = cache.find(variant)) return files_of(*hit);
  RACERIG_ASSIGN(kbuild::KernelBuild b, cache.build(variant, progress));
  return files_of(b);
}

Result<run::KernelFiles> ensure_patched_kernel(const JobEnv& env, const std::string& base,
                                               const std::vector<kbuild::PatchFile>& patches,
                                               kbuild::ProgressSink& progress) {
  RACERIG_ASSIGN(kbuild::Cache cache, open_cache(env));
  RACERIG_ASSIGN(pb::Variant variant, cache.variant(base));
  RACERIG_ASSIGN(kbuild::KernelBuild b, cache.build_with_patches(variant, patches, progress));
  return files_of(b);
}

}  // namespace racerig::jobs
