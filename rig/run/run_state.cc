// The state of one run (see run_state.h).
#include "rig/run/run_state.h"

namespace racerig::run {

namespace {

pb::RunReport new_report(const RunContext& ctx, int index) {
  pb::RunReport report;
  report.set_run(index);
  report.set_scenario(ctx.scenario.scenario.name());
  report.set_kernel_variant(ctx.kernel.variant);
  report.set_kernel_build_id(ctx.kernel.build_id);
  return report;
}

}  // namespace

RunState::RunState(const RunContext& ctx, int index)
    : t0(Clock::now()), report(new_report(ctx, index)), phases(report) {}

void RunState::watch(const RunContext& ctx, Live& l) {
  live = &l;
  monitor.emplace(*l.vm, ctx.scenario.scenario.expect());
}

}  // namespace racerig::run
