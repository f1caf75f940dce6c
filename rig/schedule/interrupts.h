// A stopped vCPU that sits on a breakpoint answers its pending interrupts
// (an IPI another vCPU spins on) and stops on that breakpoint again, its
// task not advanced: what a held (engine) or parked (tracer) vCPU does so
// that the running actor is not stuck behind it. Real hardware would answer
// the IPI without the held task making progress.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "rig/base/guest_addr.h"
#include "rig/base/result.h"
#include "rig/schedule/target.h"

namespace racerig::schedule {

struct InterruptService {
  int vcpu = 0;
  GuestAddr pc;                         // where it sits; a breakpoint is inserted there
  const std::set<uint64_t>* inserted;   // every inserted breakpoint (handlers may hit one)
  std::chrono::milliseconds rsp_timeout{5000};
  std::function<std::string(GuestAddr)> symbolize;  // may be empty
  std::string what;  // "vCPU 1 (held: faulter at f)": names it in errors
  int* skipped = nullptr;  // counts the other breakpoints stepped over (may be null)
};

// VM stopped. Resumes `s.vcpu` alone until it stops at `s.pc` again,
// stepping over any other inserted breakpoint its handlers hit (at most 64
// stops). Errors: interrupts disabled there (kProtocol), not back within
// rsp_timeout (kTimeout, saying where it is), the VM exited, or its task
// moved on (rsp changed: kProtocol). `*running` tells the caller whether
// the VM is left running (only after an error of the gdbstub).
Status answer_interrupts(Target& target, const InterruptService& s, bool* running);

}  // namespace racerig::schedule
