// --attach: stop the VM in the faulting context. The kernel's oops path
// (page_fault_oops, die) is armed before the last release; when a vCPU stops
// there, its registers are set back to the exception frame the oops path
// was handed (struct pt_regs), so that the vCPU sits on the faulting
// instruction with the registers it faulted with: a debugger's backtrace
// then starts in the function that crashed. The report is not printed (the
// kernel never got to it); the crash is described from the same frame.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/schedule/target.h"

namespace racerig::dwarf {
class Symbols;
}

namespace racerig::run {

struct CrashTraps {
  std::vector<GuestAddr> addrs;
  // The register that holds `struct pt_regs *` at each trap's entry.
  std::map<uint64_t, std::string> regs_arg;
};

// The oops-path functions this kernel has (page_fault_oops: regs in rdi;
// die: regs in rsi). kInput when it has none of them.
Result<CrashTraps> crash_traps(const dwarf::Symbols& syms);

// `vcpu` is stopped at one of `traps` (VM stopped). Reads the pt_regs, writes
// them back as the vCPU's registers, and returns the crash as an Oops:
// kind "BUG", the RIP and a frame-pointer call trace, symbolized. Errors
// name the register or address that could not be read or written.
Result<pb::Oops> rewind_to_fault(schedule::Target& target, const dwarf::Symbols& syms, const CrashTraps& traps,
                                 int vcpu, std::chrono::milliseconds rsp_timeout);

}  // namespace racerig::run
