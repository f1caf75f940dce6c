// Guest task reading (see tasks.h).
#include "rig/schedule/tasks.h"

#include <cstring>

namespace racerig::schedule {

namespace {

uint64_t le(const std::vector<uint8_t>& bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes.size() && i < 8; ++i) v |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  return v;
}

constexpr uint64_t kKernelSpace = 0xffff800000000000ull;
// x86-64 struct inactive_task_frame at thread.sp: r15 r14 r13 r12 bx bp ret_addr.
constexpr uint64_t kFrameBp = 5 * 8;
constexpr uint64_t kFrameRet = 6 * 8;
constexpr int kMaxTasks = 4096;

}  // namespace

TaskReader::TaskReader(Target& target, TaskLayout layout, std::chrono::milliseconds rsp_timeout,
                       std::function<std::string(GuestAddr)> symbolize)
    : target_(target), layout_(layout), rsp_timeout_(rsp_timeout), symbolize_(std::move(symbolize)) {}

Result<uint64_t> TaskReader::read64(uint64_t addr) {
  RACERIG_ASSIGN(auto bytes, target_.read_memory(0, GuestAddr(addr), 8, deadline()));
  return le(bytes);
}

Result<TaskInfo> TaskReader::current(int vcpu) {
  RACERIG_ASSIGN(uint64_t gs, target_.read_register(vcpu, "gs_base", deadline()));
  RACERIG_ASSIGN(auto ptr, target_.read_memory(vcpu, GuestAddr(gs + layout_.current_task), 8, deadline()));
  TaskInfo info;
  info.task = le(ptr);
  if (info.task == 0) return make_error(ErrorKind::kProtocol, "current_task is NULL on vCPU " + std::to_string(vcpu));
  RACERIG_ASSIGN(auto comm, target_.read_memory(vcpu, GuestAddr(info.task + layout_.comm_offset), 16, deadline()));
  RACERIG_ASSIGN(auto pid, target_.read_memory(vcpu, GuestAddr(info.task + layout_.pid_offset), 4, deadline()));
  info.comm.assign(reinterpret_cast<const char*>(comm.data()),
                   strnlen(reinterpret_cast<const char*>(comm.data()), comm.size()));
  info.pid = static_cast<int>(le(pid) & 0xffffffff);
  return info;
}

Result<uint64_t> TaskReader::find(const std::string& comm) {
  if (!can_read_sleepers()) return make_error(ErrorKind::kInternal, "the task list layout is unknown");
  if (auto it = by_comm_.find(comm); it != by_comm_.end()) {
    // A reaped task's memory can be reused: trust the cache only while the
    // task there still has this comm.
    auto name = target_.read_memory(0, GuestAddr(it->second + layout_.comm_offset), 16, deadline());
    if (name.ok() && std::string(reinterpret_cast<const char*>(name->data()),
                                 strnlen(reinterpret_cast<const char*>(name->data()), name->size())) == comm)
      return it->second;
    by_comm_.erase(it);
  }
  const uint64_t head = layout_.init_task + layout_.tasks_offset;
  RACERIG_ASSIGN(uint64_t node, read64(head));
  for (int i = 0; i < kMaxTasks && node != head; ++i) {
    if (node < kKernelSpace) break;
    const uint64_t task = node - layout_.tasks_offset;
    RACERIG_ASSIGN(auto name, target_.read_memory(0, GuestAddr(task + layout_.comm_offset), 16, deadline()));
    std::string got(reinterpret_cast<const char*>(name.data()),
                    strnlen(reinterpret_cast<const char*>(name.data()), name.size()));
    if (got == comm) {
      by_comm_[comm] = task;
      return task;
    }
    RACERIG_ASSIGN(node, read64(node));
  }
  if (node != head)
    return make_error(ErrorKind::kProtocol, "the guest's task list did not lead back to init_task (at " +
                                                GuestAddr(node).hex() + ") while looking for \"" + comm + "\"");
  return uint64_t{0};
}

Result<int> TaskReader::pid(uint64_t task) {
  RACERIG_ASSIGN(auto bytes, target_.read_memory(0, GuestAddr(task + layout_.pid_offset), 4, deadline()));
  return static_cast<int>(le(bytes) & 0xffffffff);
}

Result<uint32_t> TaskReader::state(uint64_t task) {
  RACERIG_ASSIGN(auto bytes, target_.read_memory(0, GuestAddr(task + layout_.state_offset), 4, deadline()));
  return static_cast<uint32_t>(le(bytes) & 0xffffffff);
}

Result<std::vector<std::string>> TaskReader::stack(uint64_t task, size_t max_frames) {
  std::vector<std::string> out;
  RACERIG_ASSIGN(uint64_t sp, read64(task + layout_.thread_sp_offset));
  if (sp < kKernelSpace)
    return make_error(ErrorKind::kProtocol, "thread.sp " + GuestAddr(sp).hex() + " is not a kernel address");
  RACERIG_ASSIGN(uint64_t bp, read64(sp + kFrameBp));
  RACERIG_ASSIGN(uint64_t ip, read64(sp + kFrameRet));
  while (out.size() < max_frames && ip >= kKernelSpace) {
    out.push_back(symbolize_ ? symbolize_(GuestAddr(ip)) : GuestAddr(ip).hex());
    // Frames grow down: each caller's frame is above the callee's.
    if (bp < kKernelSpace || bp <= sp) break;
    auto next_bp = read64(bp);
    auto next_ip = read64(bp + 8);
    if (!next_bp.ok() || !next_ip.ok()) break;
    sp = bp;
    bp = *next_bp;
    ip = *next_ip;
  }
  return out;
}

}  // namespace racerig::schedule
