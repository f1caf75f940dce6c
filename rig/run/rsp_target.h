// The gdbstub behind the schedule engine's Target interface: QEMU's RSP
// client for breakpoints, per-vCPU resume, registers and memory; guest
// output (console and agent lines) wakes wait() through the VM's event fd.
// A broken gdbstub connection during a guest poweroff is QEMU's exit.
#pragma once

#include "rig/gdbremote/client.h"
#include "rig/machine/machine.h"
#include "rig/schedule/target.h"

namespace racerig::run {

class RspTarget : public schedule::Target {
 public:
  // `vcpus`: how many the VM has (thread ids 1..vcpus).
  RspTarget(gdbremote::Client& client, machine::Machine& vm, int vcpus) : client_(client), vm_(vm), vcpus_(vcpus) {}
  int vcpu_count() const override { return vcpus_; }
  Status insert_breakpoint(GuestAddr addr, Deadline d) override;
  Status remove_breakpoint(GuestAddr addr, Deadline d) override;
  Status resume(const std::vector<int>& vcpus, Deadline d) override;
  // Also kExited once QEMU is gone (a lost connection while it exits).
  Result<schedule::StopEvent> wait(Deadline d) override;
  Result<schedule::StopEvent> interrupt(Deadline d) override;
  Status step(int vcpu, Deadline d) override;
  Result<uint64_t> read_register(int vcpu, std::string_view name, Deadline d) override;
  Status write_register(int vcpu, std::string_view name, uint64_t value, Deadline d) override;
  Result<std::vector<uint8_t>> read_memory(int vcpu, GuestAddr addr, size_t len, Deadline d) override;

 private:
  gdbremote::Client& client_;
  machine::Machine& vm_;
  int vcpus_;
};

}  // namespace racerig::run
