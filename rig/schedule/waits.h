// What a kernel task that cannot go on is waiting for, judged from its
// symbolized stack (innermost frame first) or, for a task still on its CPU,
// from the function it spins in. Only a sleeping lock wait is evidence that
// a fix serializes two paths; an IPI or an RCU grace period is the kernel
// needing a held vCPU, which says nothing about the fix.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace racerig::schedule {

enum class WaitKind {
  kNone,   // not waiting for anything we recognize
  kLock,   // asleep on a sleeping lock (rwsem, mutex, semaphore, folio lock)
  kRcu,    // asleep until an RCU grace period ends
  kCpu,    // waits for work on another CPU: an IPI (csd_lock_wait), stop_machine
  kOther,  // asleep for another reason (stack shown)
};

const char* wait_kind_name(WaitKind kind);

// The function part of a symbolized frame: "xfs_ilock+0x2a/0x80" -> "xfs_ilock".
std::string_view function_of(std::string_view frame);

// Classifies a sleeping task's stack (innermost first, symbolized frames).
// The first recognized frame from the innermost wins.
WaitKind classify_sleep(const std::vector<std::string>& stack);

// Classifies a task that is on its CPU by the function its PC is in: kCpu
// for the IPI wait loops (csd_lock_wait, smp_call_function_*), kLock for a
// spinlock's slow path (spinning behind the holder), else kNone.
WaitKind classify_spin(std::string_view function);

// Is this frame the scheduler's own (schedule, __schedule, ...)? Such frames
// are dropped from the "where it sleeps" text.
bool is_scheduler_frame(std::string_view function);

// "rwsem_down_write_slowpath ← xfs_ilock ← xfs_fileattr_set": up to `max`
// frames from the innermost that are not the scheduler's.
std::string where_text(const std::vector<std::string>& stack, size_t max = 4);

}  // namespace racerig::schedule
