// Boot and guest set-up (see boot.h).
#include "rig/run/boot.h"

#include <string>

#include "rig/run/guest_wait.h"

namespace racerig::run {

pb::GuestPlan plan_of(const RunContext& ctx, bool snapshot, bool from_template) {
  pb::GuestPlan plan;
  plan.set_filesystem_from_template(from_template);
  *plan.mutable_workload() = ctx.scenario.scenario.workload();
  // From a snapshot the actors always wait for "go": the snapshot is taken
  // before anything of the workload ran.
  plan.set_wait_for_go(snapshot || !ctx.steps.empty());
  plan.set_stay_up(snapshot);
  return plan;
}

namespace {

// A set-up failure that names a setup field (the agent's "setup.mount_options
// ...") is the scenario's: say which file to fix.
std::string setup_hint(const std::string& note, const std::filesystem::path& scenario) {
  if (note.find("setup.") == std::string::npos || scenario.empty()) return "";
  return " (fix workload.setup in " + scenario.string() + ")";
}

}  // namespace

std::string boot_to_ready(const RunContext& ctx, RunState& run, const Progress& progress) {
  const pb::Scenario& sc = ctx.scenario.scenario;
  Live& live = *run.live;
  VmMonitor& monitor = *run.monitor;
  machine::Machine& vm = *live.vm;
  if (Status s = live.target->resume(all_vcpus(ctx.options.cpus), Deadline::after(milliseconds(5000))); !s.ok()) {
    // A gdbstub that drops the connection is most often QEMU dying (killed
    // just then): wait a moment for its end, so that the verdict says how
    // it ended (judge reads it once it exited).
    (void)vm.wait_exit(Deadline::after(milliseconds(2000)));
    return "starting the guest: " + s.error().message;
  }
  bool spoke = false;
  auto booted = wait_running(
      *live.target, monitor, Deadline::after_seconds(deadline_s(sc.deadlines().boot_s(), 120)),
      [&] {
        if (!spoke && !vm.console_log().empty()) {
          spoke = true;
          progress("the kernel is booting (the console spoke)");
        }
        return monitor.agent_started() || monitor.fatal() || vm.exited();
      },
      ctx.options.cpus);
  run.phases.mark("boot");
  if (booted.ok() && *booted && monitor.agent_started()) progress("the agent started; setting up the guest");
  auto ready = booted.ok() && *booted
                   ? wait_running(
                         *live.target, monitor, Deadline::after_seconds(deadline_s(sc.deadlines().boot_s(), 120)),
                         [&] {
                           return monitor.ready() || monitor.fatal() || monitor.done() || vm.exited() ||
                                  monitor.decisive_oops_complete();
                         },
                         ctx.options.cpus)
                   : booted;
  run.phases.mark("guest_setup");
  if (ready.ok() && *ready && monitor.ready()) return "";
  return !ready.ok()       ? ready.error().message
         : !*ready         ? "the guest was not ready within the boot deadline" + console_tail(vm)
         : monitor.fatal() ? "set-up failed: the agent said " + monitor.poll().agent_note +
                                 setup_hint(monitor.poll().agent_note, ctx.scenario.path)
                           : ended_text("the guest ended during set-up", vm);
}

}  // namespace racerig::run
