// One forced run of a scenario on a kernel, and what is the same for every
// run of it (RunContext): build the guest image, boot QEMU, wait for the
// agent to be ready, arm and enforce the schedule, collect the oops and the
// agent's results, decide the verdict, tear everything down. The steps are
// in boot.h, enforce.h and judge.h, the state of one run in run_state.h;
// runs from a ready-state snapshot in snapshot_runner.h.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/machine/backend.h"
#include "rig/programs/compile.h"
#include "rig/scenario/scenario.h"
#include "rig/schedule/engine.h"

namespace racerig::dwarf {
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
  // vCPUs and RAM; 0: the count the scenario was loaded with
  // (LoadedScenario::vcpus) and the scenario's RAM
  // (scenario::machine_memory_mb). prepare_run fills them in.
  int cpus = 0;
  int memory_mb = 0;
  // Kernel command line. `quiet` would hide KERN_WARNING reports, so the
  // level is explicit. no_timer_check: under TCG on a loaded host the
  // kernel's IO-APIC timer check can miss ticks and panic at boot
  // ("IO-APIC + timer doesn't work!" in setup_IO_APIC; seen here).
  // tsc=unstable: HPET is the clocksource from boot and stays so. Without
  // it 6.12 runs on tsc-early under TCG, and on a loaded host the
  // clocksource watchdog later finds it skewed against HPET and switches
  // clocksource with stop_machine, which needs every vCPU: a vCPU held at
  // a breakpoint never runs its stopper, so the run STALLs (seen here: the
  // console's "Marking clocksource 'tsc-early' as unstable", vCPU 0 in
  // stop_machine_yield, vCPU 1 held). 6.1 already marks the TSC unstable at
  // boot ("TSCs unsynchronized") and uses HPET. kvm-clock, under --kvm, is
  // not the TSC clocksource and is unaffected.
  std::string append =
      "console=ttyS0 nokaslr panic=-1 loglevel=6 nowatchdog rcupdate.rcu_cpu_stall_suppress=1 no_timer_check "
      "tsc=unstable";
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
  // How many VMs an exploration runs its schedules on at once; 0: the
  // host's cores / the guest's vCPUs (explore::ExploreOptions::vms, which
  // a request may set, wins). racerigd sets 1: its workers are its
  // parallelism.
  int vms = 0;
};

// "auto", "incoming", "loadvm" (CLI --restore); kInput for anything else.
Result<RunOptions::Restore> parse_restore(const std::string& text);

using Progress = std::function<void(const std::string& line)>;

// Everything that is the same for every run of a scenario on one kernel.
struct RunContext {
  KernelFiles kernel;
  std::shared_ptr<const dwarf::Symbols> symbols;
  scenario::LoadedScenario scenario;
  std::vector<schedule::Step> steps;
  // With no steps: the addresses a trace run records the actors'
  // arrivals at (explore's window; TraceEvent "trace"). Empty: no trace.
  std::vector<GuestAddr> trace;
  // The actor traced alone first (schedule::TraceConfig::first); empty: all
  // actors run freely.
  std::string trace_first;
  schedule::TaskLayout task;
  std::filesystem::path base_initramfs;
  // The scenario's programs, compiled (packed at /racerig/programs/<name>).
  std::vector<programs::Program> programs;
  RunOptions options;
};

// Resolves the schedule and the task layout in the kernel's symbols and
// builds (or reuses) the base initramfs. Input errors (unknown symbol) are
// kInput with file:line; nothing boots. `loaded` must carry its vCPU count
// (load_scenario sets it) unless options.cpus is given.
Result<RunContext> prepare_run(const KernelFiles& kernel, std::shared_ptr<const dwarf::Symbols> symbols,
                               scenario::LoadedScenario loaded, const RunOptions& options);

// Runs once, cold: makes the NVDIMM template when missing, boots a fresh VM
// to the ready state, enforces, judges, tears the VM down (with --attach a
// REPRODUCED run first waits until the human's gdb lets the VM go). Never
// throws; every failure becomes a verdict with a reason.
pb::RunReport run_once(const RunContext& context, int index, const Progress& progress);

}  // namespace racerig::run
