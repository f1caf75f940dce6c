// The per-CPU current task pointer, from symbols and DWARF (see current_task.h).
#include "rig/dwarf/current_task.h"

namespace racerig::dwarf {

Result<CurrentTaskSlot> find_current_task(const Symbols& syms) {
  if (auto own = syms.address_of("current_task"); own.ok()) return CurrentTaskSlot{own->value(), "current_task"};
  auto hot = syms.address_of("pcpu_hot");
  if (hot.ok()) {
    auto member = syms.variable_member_offset("pcpu_hot", "current_task");
    if (member.ok()) return CurrentTaskSlot{hot->value() + *member, "pcpu_hot.current_task"};
    return member.error().wrap("finding the current task in " + syms.path() +
                               ": there is no symbol current_task, and pcpu_hot does not give it");
  }
  return make_error(ErrorKind::kInput,
                    "cannot find the current task in " + syms.path() +
                        ": it has neither the per-CPU symbol current_task (kernels up to 6.1) nor pcpu_hot with a "
                        "member current_task (6.2 on); the schedule engine needs one to tell which task a vCPU runs");
}

}  // namespace racerig::dwarf
