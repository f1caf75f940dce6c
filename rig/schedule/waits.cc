// Wait classification (see waits.h).
#include "rig/schedule/waits.h"

#include <array>

namespace racerig::schedule {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Sleeping locks: their slow paths are where a contended acquirer sleeps.
constexpr std::array kLockWaits = {
    std::string_view("rwsem_down_write_slowpath"),
    std::string_view("rwsem_down_read_slowpath"),
    std::string_view("__mutex_lock"),
    std::string_view("__mutex_lock_slowpath"),
    std::string_view("mutex_lock"),
    std::string_view("__down"),
    std::string_view("__down_common"),
    std::string_view("__down_killable"),
    std::string_view("__down_timeout"),
    std::string_view("rt_mutex_slowlock"),
    std::string_view("percpu_rwsem_wait"),
    std::string_view("__percpu_down_read"),
    std::string_view("percpu_down_write"),
    std::string_view("folio_wait_bit_common"),
    std::string_view("__folio_lock"),
    std::string_view("__lock_page"),
};

constexpr std::array kRcuWaits = {
    std::string_view("synchronize_rcu"),  std::string_view("synchronize_rcu_expedited"),
    std::string_view("__wait_rcu_gp"),    std::string_view("wait_rcu_gp"),
    std::string_view("rcu_barrier"),      std::string_view("synchronize_rcu_tasks"),
    std::string_view("synchronize_srcu"),
};

constexpr std::array kCpuWaits = {
    std::string_view("csd_lock_wait"),
    std::string_view("smp_call_function_many_cond"),
    std::string_view("smp_call_function_single"),
    std::string_view("stop_machine"),
    std::string_view("stop_machine_cpuslocked"),
    std::string_view("stop_one_cpu"),
    std::string_view("stop_cpus"),
    std::string_view("on_each_cpu_cond_mask"),
};

// Spinning locks: a task spinning in their slow paths waits for the holder
// as a sleeper on a mutex does, on its CPU.
constexpr std::array kSpinLockWaits = {
    std::string_view("queued_spin_lock_slowpath"),  std::string_view("native_queued_spin_lock_slowpath"),
    std::string_view("__pv_queued_spin_lock_slowpath"), std::string_view("queued_read_lock_slowpath"),
    std::string_view("queued_write_lock_slowpath"), std::string_view("do_raw_spin_lock"),
};

template <size_t N>
bool in(const std::array<std::string_view, N>& set, std::string_view f) {
  for (std::string_view s : set)
    if (s == f) return true;
  return false;
}

}  // namespace

const char* wait_kind_name(WaitKind kind) {
  switch (kind) {
    case WaitKind::kNone:
      return "not waiting";
    case WaitKind::kLock:
      return "a sleeping lock";
    case WaitKind::kRcu:
      return "an RCU grace period";
    case WaitKind::kCpu:
      return "work on another CPU (IPI or stop_machine)";
    case WaitKind::kOther:
      return "something else";
  }
  return "?";
}

std::string_view function_of(std::string_view frame) {
  size_t cut = frame.find_first_of("+ ");
  return cut == std::string_view::npos ? frame : frame.substr(0, cut);
}

bool is_scheduler_frame(std::string_view f) {
  return f == "__schedule" || f == "schedule" || starts_with(f, "schedule_") || f == "preempt_schedule" ||
         f == "preempt_schedule_common" || f == "io_schedule" || f == "__switch_to_asm" || f == "__switch_to";
}

WaitKind classify_sleep(const std::vector<std::string>& stack) {
  for (const std::string& frame : stack) {
    std::string_view f = function_of(frame);
    if (in(kLockWaits, f)) return WaitKind::kLock;
    if (in(kRcuWaits, f)) return WaitKind::kRcu;
    if (in(kCpuWaits, f)) return WaitKind::kCpu;
  }
  return WaitKind::kOther;
}

WaitKind classify_spin(std::string_view function) {
  if (in(kCpuWaits, function)) return WaitKind::kCpu;
  if (in(kSpinLockWaits, function)) return WaitKind::kLock;
  return WaitKind::kNone;
}

std::string where_text(const std::vector<std::string>& stack, size_t max) {
  std::string out;
  size_t n = 0;
  for (const std::string& frame : stack) {
    std::string_view f = function_of(frame);
    if (is_scheduler_frame(f)) continue;
    if (n == max) break;
    out += (out.empty() ? "" : " \u2190 ") + std::string(f);
    ++n;
  }
  return out.empty() ? "?" : out;
}

}  // namespace racerig::schedule
