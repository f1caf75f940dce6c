// Where the commands find their surroundings: the kernel cache and racerig's
// work directories under it, the jobs' environment for this checkout, and
// kernels built on demand with progress on stderr.
#include "host/cli_util.h"
#include "host/terminal_progress.h"
#include "host/version.h"
#include "rig/jobs/job_env.h"
#include "rig/jobs/kernels.h"
#include "rig/kbuild/cache.h"
#include "rig/machine/run_dir.h"
#include "rig/process/cancel.h"
#include "rig/run/run.h"

namespace racerig::host {

std::filesystem::path work_dir() { return kbuild::default_cache_root() / "work"; }
std::filesystem::path run_logs_dir() { return kbuild::default_cache_root() / "logs" / "runs"; }

Result<kbuild::Cache> open_cache(const std::filesystem::path& root) {
  // Every command that may build or boot: Ctrl-C cancels (builds and VMs
  // are stopped), and what SIGKILLed racerigs left is removed first.
  process::install_cancel_handlers();
  machine::remove_stale_run_dirs();
  return kbuild::Cache::open(std::filesystem::path(repo_root()) / "kernels",
                             root.empty() ? kbuild::default_cache_root() : root);
}

jobs::JobEnv job_env() {
  jobs::JobEnv env = jobs::default_env(repo_root());
  env.racerig_version = racerig_version();
  env.qemu_version = qemu_version(run::RunOptions{}.qemu);
  return env;
}

Result<run::KernelFiles> ensure_kernel(const std::string& name) {
  process::install_cancel_handlers();  // Ctrl-C stops the build
  TerminalProgress progress;
  return jobs::ensure_kernel(job_env(), name, progress);
}

}  // namespace racerig::host
