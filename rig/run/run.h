// One forced run of a scenario on a kernel: build the guest image, boot QEMU,
// wait for the agent to be ready, arm and enforce the schedule, collect the
// oops and the agent's results, decide the verdict, tear everything down.
#pragma once

#include <filesystem>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/machine/backend.h"
#include "rig/scenario/scenario.h"
#include "rig/schedule/engine.h"

namespace racerig::symbols {
class Symbols;
}

namespace racerig::run {

struct KernelFiles {
  std::string variant;
  std::string build_id;
  std::filesystem::path bzimage;
  std::filesystem::path vmlinux;
};

struct RunOptions {
  std::string qemu = "qemu-system-x86_64";
  bool kvm = false;
  // vCPUs and RAM; 0: the scenario's (scenario::machine_cpus/_memory_mb).
  // prepare_run fills them in.
  int cpus = 0;
  int memory_mb = 0;
  // Kernel command line. `quiet` would hide KERN_WARNING reports, so the
  // level is explicit. no_timer_check: under TCG on a loaded host the
  // kernel's IO-APIC timer check can miss ticks and panic at boot
  // ("IO-APIC + timer doesn't work!" in setup_IO_APIC; seen here).
  std::string append =
      "console=ttyS0 nokaslr panic=-1 loglevel=6 nowatchdog rcupdate.rcu_cpu_stall_suppress=1 no_timer_check";
  // On REPRODUCED: keep the VM stopped with its gdbstub open for a human.
  bool attach = false;
  std::filesystem::path work_dir;  // where base initramfs images and NVDIMM templates are cached
  // Where the logs of INFRA_ERROR and STALLED runs are kept (the cache's
  // logs/runs, see kept_logs.h); empty: not kept.
  std::filesystem::path logs_dir;
  // Start each boot's NVDIMM from a template image (fsdax info block and an
  // empty XFS, made once by one boot per kernel and set-up) instead of
  // converting the namespace and running mkfs.xfs in every boot.
  bool pmem_template = true;
  // What starts QEMU: directly (fork/exec), or libvirt as a transient domain
  // on libvirt_uri (empty: the embedded driver in the cache, see backend.h).
  machine::Backend backend = machine::Backend::kQemu;
  std::string libvirt_uri;
  // How runs from a ready-state snapshot restore it (see SnapshotRunner).
  enum class Restore {
    kAuto,      // incoming; loadvm when the incoming snapshot cannot be made
    kIncoming,  // incoming only (an error when it cannot be made)
    kLoadvm,    // savevm once per invocation, loadvm per run, one QEMU
  };
  Restore restore = Restore::kAuto;
};

// "auto", "incoming", "loadvm" (CLI --restore); kInput for anything else.
Result<RunOptions::Restore> parse_restore(const std::string& text);

using Progress = std::function<void(const std::string& line)>;

// Everything that is the same for every run of a scenario on one kernel.
struct RunContext {
  KernelFiles kernel;
  std::shared_ptr<const symbols::Symbols> symbols;
  scenario::LoadedScenario scenario;
  std::vector<schedule::Step> steps;
  schedule::TaskLayout task;
  std::filesystem::path base_initramfs;
  RunOptions options;
};

// Resolves the schedule and the task layout in the kernel's symbols and
// builds (or reuses) the base initramfs. Input errors (unknown symbol) are
// kInput with file:line; nothing boots.
Result<RunContext> prepare_run(const KernelFiles& kernel, std::shared_ptr<const symbols::Symbols> symbols,
                               scenario::LoadedScenario loaded, const RunOptions& options);

// The NVDIMM template for the context's guest set-up, under
// options.work_dir/pmem-templates, keyed by the kernel's build id, the base
// initramfs (its mkfs.xfs and agent) and the set-up: made by one boot (the
// agent's make_template plan) when missing, then reused. *made says whether
// this call made it.
Result<std::filesystem::path> ensure_pmem_template(const RunContext& context, const Progress& progress, bool* made);
// Where that template is (whether or not it exists yet).
std::filesystem::path pmem_template_path(const RunContext& context);

// Runs once. Never throws; every failure becomes a verdict with a reason.
pb::RunReport run_once(const RunContext& context, int index, const Progress& progress);

// Human rendering of a report: verdict line, oops excerpt, schedule trace.
std::string render_run(const pb::RunReport& report, bool verbose);

}  // namespace racerig::run
