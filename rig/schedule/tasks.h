// Reading guest kernel tasks through the gdbstub (a stopped VM): the task
// running on a vCPU, a task found by its comm in the task list, whether it
// sleeps (__state), and its kernel stack walked through the frame pointers
// saved when it was switched out (the kernel is built with FRAME_POINTER).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/guest_addr.h"
#include "rig/base/result.h"
#include "rig/schedule/target.h"

namespace racerig::schedule {

// Offsets in the guest kernel, resolved from vmlinux's DWARF. Fields that
// are 0 disable what needs them (init_task: sleeping tasks are not read).
struct TaskLayout {
  uint64_t current_task = 0;      // per-cpu offset of the current task pointer: current_task
                                  // up to 6.1, pcpu_hot.current_task from 6.2 (dwarf::find_current_task)
  uint64_t comm_offset = 0;       // offsetof(struct task_struct, comm)
  uint64_t pid_offset = 0;        // offsetof(struct task_struct, pid)
  uint64_t init_task = 0;         // address of init_task (head of the task list)
  uint64_t tasks_offset = 0;      // offsetof(struct task_struct, tasks)
  uint64_t state_offset = 0;      // offsetof(struct task_struct, __state)
  uint64_t thread_sp_offset = 0;  // offsetof(struct task_struct, thread.sp)
};

struct TaskInfo {
  uint64_t task = 0;  // task_struct address
  std::string comm;
  int pid = -1;
};

class TaskReader {
 public:
  // `symbolize` turns a PC into "func+0x1a/0x80" (or hex).
  TaskReader(Target& target, TaskLayout layout, std::chrono::milliseconds rsp_timeout,
             std::function<std::string(GuestAddr)> symbolize);

  // Can sleeping tasks be read (the layout has the task list)?
  bool can_read_sleepers() const { return layout_.init_task != 0; }
  // The task on `vcpu` (VM stopped). Errors name the vCPU.
  Result<TaskInfo> current(int vcpu);
  // The task whose comm is `comm`, from the task list (cached by comm; a
  // cached task is checked to still carry that comm). 0: no task of the
  // list has it (the task exited and was reaped).
  Result<uint64_t> find(const std::string& comm);
  // Whether a task_struct.__state says the task is dead (TASK_DEAD: it
  // exited, a zombie not yet reaped).
  static bool dead(uint32_t state) { return (state & kTaskDead) != 0; }
  static constexpr uint32_t kTaskDead = 0x80;
  // task_struct.pid.
  Result<int> pid(uint64_t task);
  // task_struct.__state (0 = TASK_RUNNING).
  Result<uint32_t> state(uint64_t task);
  // The switched-out task's kernel stack, innermost first, symbolized, at
  // most `max_frames` deep. Only valid for a task not on a CPU.
  Result<std::vector<std::string>> stack(uint64_t task, size_t max_frames = 24);
  // Forgets cached task addresses (a restored snapshot, a new run).
  void forget() { by_comm_.clear(); }

 private:
  Result<uint64_t> read64(uint64_t addr);
  Deadline deadline() const { return Deadline::after(rsp_timeout_); }

  Target& target_;
  TaskLayout layout_;
  std::chrono::milliseconds rsp_timeout_;
  std::function<std::string(GuestAddr)> symbolize_;
  std::map<std::string, uint64_t> by_comm_;
};

}  // namespace racerig::schedule
