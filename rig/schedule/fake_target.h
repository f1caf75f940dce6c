// FakeTarget: a scripted stand-in for QEMU's gdbstub that the schedule engine
// tests run against. The guest is a timeline of visits (vCPU, PC, task,
// registers) in the order they would happen on real hardware; a visit of a
// vCPU that is stopped waits until that vCPU runs. Like QEMU under TCG,
// breakpoints are global, fire before the instruction, and a vCPU resumed
// while sitting on one traps again.
//
// A visit may wait for an earlier visit of another vCPU (`waits_for`): until
// that one ran, the task either sleeps (its vCPU idles in swapper, its
// task_struct says TASK_UNINTERRUPTIBLE and its saved frame-pointer chain
// is `stack`) or spins on its CPU at the visit's PC. The task list
// (init_task.tasks) holds every comm of the timeline.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rig/schedule/engine.h"
#include "rig/schedule/target.h"

namespace racerig::schedule {

struct Visit {
  int vcpu = 0;
  uint64_t pc = 0;
  std::string comm;
  std::map<std::string, uint64_t> regs;
  std::map<uint64_t, uint64_t> memory;  // 8-byte words readable at this visit
  std::string actor_done;               // non-empty: that actor finishes here
  bool oops = false;                    // the kernel oopses here
  int waits_for = -1;                   // index of a visit that must run first
  bool sleeps = true;                   // while waiting: asleep (else spins at pc)
  std::vector<uint64_t> stack;          // while asleep: return addresses, innermost first
  // An interrupt handler on `vcpu` (an IPI's): it runs as soon as that vCPU
  // runs and `waits_for` ran, before the vCPU's next visit, even one sitting
  // on a breakpoint; it is not a visit of the vCPU's task (interrupts are
  // enabled unless that visit's regs say eflags without IF).
  bool interrupt = false;
  bool exits = false;  // the task exits after this visit: it leaves the task list
};

// A visit of `comm` on `vcpu` at `pc`, with `regs` (the tests' shorthand).
inline Visit at(int vcpu, uint64_t pc, std::string comm, std::map<std::string, uint64_t> regs = {}) {
  Visit v;
  v.vcpu = vcpu;
  v.pc = pc;
  v.comm = std::move(comm);
  v.regs = std::move(regs);
  return v;
}

class FakeTarget : public Target, public GuestMonitor {
 public:
  static constexpr uint64_t kCurrentTask = 0x20000;
  static constexpr uint64_t kCommOffset = 0x700;
  static constexpr uint64_t kPidOffset = 0x500;
  static constexpr uint64_t kInitTask = 0xffffffff82000000ull;
  static constexpr uint64_t kTasksOffset = 0x400;
  static constexpr uint64_t kStateOffset = 0x18;
  static constexpr uint64_t kThreadSpOffset = 0x900;
  static constexpr uint64_t kIdlePc = 0xffffffff81900000ull;  // the idle loop
  static TaskLayout layout() {
    return TaskLayout{kCurrentTask, kCommOffset, kPidOffset, kInitTask, kTasksOffset, kStateOffset, kThreadSpOffset};
  }

  FakeTarget(int vcpus, std::vector<Visit> timeline);

  int vcpu_count() const override { return vcpus_; }
  Status insert_breakpoint(GuestAddr addr, Deadline deadline) override;
  Status remove_breakpoint(GuestAddr addr, Deadline deadline) override;
  Status resume(const std::vector<int>& vcpus, Deadline deadline) override;
  Result<StopEvent> wait(Deadline deadline) override;
  Result<StopEvent> interrupt(Deadline deadline) override;
  Status step(int vcpu, Deadline deadline) override;
  Result<uint64_t> read_register(int vcpu, std::string_view name, Deadline deadline) override;
  Status write_register(int vcpu, std::string_view name, uint64_t value, Deadline deadline) override;
  Result<std::vector<uint8_t>> read_memory(int vcpu, GuestAddr addr, size_t len, Deadline deadline) override;
  // Registers written through write_register, by vCPU.
  const std::map<int, std::map<std::string, uint64_t>>& written() const { return written_; }

  GuestStatus poll() override { return status_; }

  // The next `n` steps return without running the instruction (the vCPU
  // stays where it is), as QEMU's gdbstub now and then does.
  void stall_next_steps(int n) { stalled_steps_ = n; }

  // Inspection for tests.
  const std::vector<std::pair<int, uint64_t>>& executed() const { return executed_; }
  int resumes_while_on_breakpoint() const { return retraps_; }
  const std::set<uint64_t>& breakpoints() const { return bps_; }
  bool running() const { return running_; }
  // Index in the timeline of the next visit of `vcpu` (timeline size if none).
  size_t cursor(int vcpu) const;

 private:
  const Visit* current(int vcpu) const;
  void consume(int vcpu);
  void consume_at(size_t i);
  // Runs the pending interrupt handlers of running vCPUs; true if any ran.
  bool run_interrupts();
  // The vCPU's next visit waits for one that has not run yet.
  bool blocked(int vcpu) const;
  bool asleep(int vcpu) const { return blocked(vcpu) && current(vcpu)->sleeps; }
  std::string comm_on(int vcpu) const;
  // The comm's first visit not run yet (nullptr if none).
  const Visit* next_of(const std::string& comm) const;
  std::vector<std::string> comms_;  // the task list, in order
  std::set<std::string> exited_;    // tasks that left it

  int vcpus_;
  int stalled_steps_ = 0;
  std::map<int, uint64_t> past_step_;  // vCPU -> rip just after a step
  std::vector<Visit> timeline_;
  std::vector<bool> done_;
  std::set<uint64_t> bps_;
  std::set<int> running_set_;
  bool running_ = false;
  bool pending_stop_ = false;
  StopEvent pending_;
  std::map<int, bool> on_bp_;
  std::map<int, uint64_t> last_pc_;  // where a vCPU with no visits left spins  // vCPU stopped at its current visit's breakpoint
  std::vector<std::pair<int, uint64_t>> executed_;
  int retraps_ = 0;
  std::map<int, std::map<std::string, uint64_t>> written_;
  GuestStatus status_;
};

}  // namespace racerig::schedule
