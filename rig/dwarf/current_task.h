// Where a kernel keeps the per-CPU pointer to the task a CPU runs, found from
// vmlinux's symbols and DWARF rather than from one kernel version's layout:
// up to 6.1 it is the per-CPU variable `current_task`; from 6.2 (through at
// least 6.12) it is the member `current_task` of the per-CPU struct
// `pcpu_hot`. On x86-64 a CPU's slot is at gs_base + the per-CPU offset.
#pragma once

#include <cstdint>
#include <string>

#include "rig/base/result.h"
#include "rig/dwarf/symbols.h"

namespace racerig::dwarf {

struct CurrentTaskSlot {
  uint64_t per_cpu_offset = 0;  // from a CPU's gs_base to its task pointer
  std::string found_as;         // "current_task" or "pcpu_hot.current_task"
};

// Looks for the symbol `current_task`, then for `pcpu_hot` with a member
// `current_task` in the type DWARF gives that variable. Neither: a kInput
// error naming the vmlinux and both names tried.
Result<CurrentTaskSlot> find_current_task(const Symbols& syms);

}  // namespace racerig::dwarf
