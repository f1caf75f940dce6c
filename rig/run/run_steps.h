// The steps of one run, shared by run_once (run.cc) and SnapshotRunner
// (snapshot_runner.cc): starting a VM and its gdbstub, boot and guest
// set-up, enforcing the schedule, judging, keeping the logs of a failed run.
// Internal to rig/run.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "rig/gdbremote/client.h"
#include "rig/machine/machine.h"
#include "rig/machine/vm_config.h"
#include "rig/qemu/vm.h"
#include "rig/run/guest_monitor.h"
#include "rig/run/kept_logs.h"
#include "rig/run/rsp_target.h"
#include "rig/run/run.h"
#include "rig/run/verdict.h"

namespace racerig::run {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

constexpr int kPmemMb = 512;

// Records phase timings into a report.
class Phases {
 public:
  explicit Phases(pb::RunReport& report) : report_(report), since_(Clock::now()) {}
  void mark(const std::string& name) {
    pb::PhaseTiming* t = report_.add_timings();
    t->set_phase(name);
    t->set_ms(ms_since(since_));
    since_ = Clock::now();
  }

 private:
  pb::RunReport& report_;
  Clock::time_point since_;
};

// One QEMU with its gdbstub connection.
struct Live {
  std::unique_ptr<machine::Machine> vm;
  // The same VM when the direct backend started it (migration needs its
  // QMP); null under libvirt.
  vm::Vm* qemu = nullptr;
  std::unique_ptr<gdbremote::Client> client;
  std::unique_ptr<RspTarget> target;
};

// The QEMU options every VM of this context shares (no initrd, no NVDIMM
// image choice).
machine::VmConfig vm_config(const RunContext& ctx);

// Starts the VM with `cfg` through the context's backend (the VM stays
// stopped; the gdbstub is not connected yet).
Result<Live> start_live_with(const RunContext& ctx, const machine::VmConfig& cfg);

// The direct QEMU of `live`, which the incoming restore path needs.
Result<vm::Vm*> direct_qemu(Live& live);

// Connects the gdbstub of a stopped VM.
Status connect_gdb(const RunContext& ctx, Live& live);

// A stopped VM for `plan` (its initramfs written), gdbstub connected.
Result<Live> start_live(const RunContext& ctx, const pb::GuestPlan& plan, bool snapshot_drive,
                        const std::filesystem::path& pmem_template);

// Boot and guest set-up: every vCPU runs until the agent is READY. Returns
// why not, or "" when ready. Progress says when the kernel first speaks on
// the console and when the agent starts, so a boot that hangs shows where.
std::string boot_to_ready(const RunContext& ctx, Live& live, VmMonitor& monitor, Phases& phases,
                          const Progress& progress);

// The schedule and what follows it, on a ready guest whose agent waits for
// `go_line` ("go" or "go ARGUMENT"; empty: the agent does not wait, there is
// no schedule and no barrier and the actors already run).
// Returns whether the VM is still fit for another run from its snapshot:
// false after a target error (kError), a failed disarm (breakpoints may be
// left inserted) or a gdbstub connection that fell out of step.
bool enforce(const RunContext& ctx, Live& live, VmMonitor& monitor, Evidence& ev, pb::RunReport& report,
             Clock::time_point t0, Phases& phases, const std::string& go_line, const Progress& progress);

// Evidence → verdict, oops decoded, agent events; phase "verdict".
void judge(const RunContext& ctx, const machine::Machine& vm, VmMonitor& monitor, Evidence& ev, pb::RunReport& report,
           Clock::time_point t0, Phases& phases, const std::vector<pb::AgentEvent>& earlier_events);

// The logs of an INFRA_ERROR or STALLED run, kept (see kept_logs.h) while
// the VM's logs are still at hand: the place goes into the report, a
// failure to keep them into its reason. `console` is this run's part.
void keep_logs(const RunContext& ctx, const RunLogs& logs, pb::RunReport& report);
void keep_logs(const RunContext& ctx, const machine::Machine& vm, const std::string& console, pb::RunReport& report);

// A report for run `index`: scenario, kernel and its build id.
pb::RunReport new_report(const RunContext& ctx, int index);

// The template for this run, or an empty path when the guest makes its own
// filesystem; a template made now is charged to its own phase. With
// `make_if_missing` false a missing template is not made: a snapshot boots
// once per kernel anyway, and making the template would be a second boot.
Result<std::filesystem::path> template_for_run(const RunContext& ctx, const Progress& progress, Phases& phases,
                                               bool make_if_missing);

// What the guest agent is told: the workload, and whether the actors wait
// for "go" and the agent stays up (from a snapshot).
pb::GuestPlan plan_of(const RunContext& ctx, bool snapshot, bool from_template);

}  // namespace racerig::run
