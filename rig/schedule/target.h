// The view of a stopped-or-running VM that the schedule engine drives: the
// gdbstub (breakpoints, per-vCPU resume, registers, memory) plus a way to be
// woken by guest events (console and agent lines). rig/run/rsp_target.{h,cc}
// adapts the real RSP client; tests use a fake.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/guest_addr.h"
#include "rig/base/result.h"

namespace racerig::schedule {

// vCPU indices are 0-based here (the gdbstub's thread id is index + 1).
struct StopEvent {
  enum class Kind {
    kBreakpoint,  // a vCPU stopped at a breakpoint (or a step finished)
    kOtherStop,   // the VM stopped for another reason (signal, interrupt)
    kWoken,       // the VM is still running; guest events are waiting
    kExited,      // QEMU or the guest went away
  };
  Kind kind = Kind::kOtherStop;
  int vcpu = -1;
  int signal = 0;
};

class Target {
 public:
  virtual ~Target() = default;
  virtual int vcpu_count() const = 0;
  // Breakpoints are global to all vCPUs (QEMU TCG) and fire before the
  // instruction runs. Only valid while the VM is stopped.
  virtual Status insert_breakpoint(GuestAddr addr, Deadline deadline) = 0;
  virtual Status remove_breakpoint(GuestAddr addr, Deadline deadline) = 0;
  // Resumes exactly `vcpus`; every other vCPU stays stopped. Returns once
  // the request is sent.
  virtual Status resume(const std::vector<int>& vcpus, Deadline deadline) = 0;
  // Blocks until the VM stops, a guest event arrives (kWoken, VM still
  // running), or the deadline passes (kTimeout error; VM still running).
  virtual Result<StopEvent> wait(Deadline deadline) = 0;
  // Stops a running VM. The returned event may be a breakpoint hit that
  // raced with the request.
  virtual Result<StopEvent> interrupt(Deadline deadline) = 0;
  // Single-steps one vCPU while the others stay stopped.
  virtual Status step(int vcpu, Deadline deadline) = 0;
  virtual Result<uint64_t> read_register(int vcpu, std::string_view name, Deadline deadline) = 0;
  // Sets a register of a stopped vCPU (used to put a vCPU back at the
  // faulting instruction for a debugger).
  virtual Status write_register(int vcpu, std::string_view name, uint64_t value, Deadline deadline) = 0;
  virtual Result<std::vector<uint8_t>> read_memory(int vcpu, GuestAddr addr, size_t len,
                                                   Deadline deadline) = 0;
};

}  // namespace racerig::schedule
