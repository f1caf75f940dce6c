// FakeTarget implementation (see fake_target.h).
#include "rig/schedule/fake_target.h"

#include <algorithm>
#include <functional>

namespace racerig::schedule {

namespace {
uint64_t task_of(const std::string& comm) { return 0xffff888000000000ull + (std::hash<std::string>{}(comm) & 0xffff) * 0x4000; }
uint64_t gs_of(int vcpu) { return 0xffff88801f000000ull + static_cast<uint64_t>(vcpu) * 0x100000; }
}  // namespace

FakeTarget::FakeTarget(int vcpus, std::vector<Visit> timeline)
    : vcpus_(vcpus), timeline_(std::move(timeline)), done_(timeline_.size(), false) {
  for (const auto& v : timeline_)
    if (!v.interrupt && std::find(comms_.begin(), comms_.end(), v.comm) == comms_.end()) comms_.push_back(v.comm);
}

bool FakeTarget::blocked(int vcpu) const {
  const Visit* v = current(vcpu);
  return v != nullptr && v->waits_for >= 0 && !done_[static_cast<size_t>(v->waits_for)];
}

std::string FakeTarget::comm_on(int vcpu) const {
  const Visit* v = current(vcpu);
  if (v == nullptr || asleep(vcpu)) return "swapper/" + std::to_string(vcpu);
  return v->comm;
}

const Visit* FakeTarget::next_of(const std::string& comm) const {
  for (size_t i = 0; i < timeline_.size(); ++i)
    if (!done_[i] && !timeline_[i].interrupt && timeline_[i].comm == comm) return &timeline_[i];
  return nullptr;
}

size_t FakeTarget::cursor(int vcpu) const {
  for (size_t i = 0; i < timeline_.size(); ++i)
    if (!done_[i] && !timeline_[i].interrupt && timeline_[i].vcpu == vcpu) return i;
  return timeline_.size();
}

const Visit* FakeTarget::current(int vcpu) const {
  size_t i = cursor(vcpu);
  return i < timeline_.size() ? &timeline_[i] : nullptr;
}

void FakeTarget::consume(int vcpu) {
  size_t i = cursor(vcpu);
  if (i >= timeline_.size()) return;
  consume_at(i);
}

bool FakeTarget::run_interrupts() {
  bool ran = false;
  for (size_t i = 0; i < timeline_.size(); ++i) {
    const Visit& irq = timeline_[i];
    if (done_[i] || !irq.interrupt || running_set_.count(irq.vcpu) == 0) continue;
    if (irq.waits_for >= 0 && !done_[static_cast<size_t>(irq.waits_for)]) continue;
    const Visit* at = current(irq.vcpu);
    if (at != nullptr && at->regs.count("eflags") != 0 && (at->regs.at("eflags") & 0x200) == 0) continue;
    done_[i] = true;
    executed_.emplace_back(irq.vcpu, irq.pc);
    ran = true;
  }
  return ran;
}

void FakeTarget::consume_at(size_t i) {
  const int vcpu = timeline_[i].vcpu;
  done_[i] = true;
  executed_.emplace_back(vcpu, timeline_[i].pc);
  last_pc_[vcpu] = timeline_[i].pc;
  if (timeline_[i].exits) exited_.insert(timeline_[i].comm);
  if (!timeline_[i].actor_done.empty()) status_.actors_done.insert(timeline_[i].actor_done);
  if (timeline_[i].oops) {
    status_.oops = true;
    status_.oops_headline = "BUG: kernel NULL pointer dereference";
  }
}

Status FakeTarget::insert_breakpoint(GuestAddr addr, Deadline) {
  if (running_) return make_error(ErrorKind::kProtocol, "Z0 while running");
  bps_.insert(addr.value());
  return Status::Ok();
}

Status FakeTarget::remove_breakpoint(GuestAddr addr, Deadline) {
  if (running_) return make_error(ErrorKind::kProtocol, "z0 while running");
  bps_.erase(addr.value());
  return Status::Ok();
}

Status FakeTarget::resume(const std::vector<int>& vcpus, Deadline) {
  if (running_) return make_error(ErrorKind::kProtocol, "vCont while running");
  for (int v : vcpus) {
    if (on_bp_[v] && current(v) != nullptr && bps_.count(current(v)->pc) != 0) ++retraps_;
    on_bp_[v] = false;
    past_step_.erase(v);
  }
  running_set_ = std::set<int>(vcpus.begin(), vcpus.end());
  running_ = true;
  // Run the timeline in order: visits of running vCPUs execute until one sits
  // on a breakpoint, or a guest event needs the host's attention. Pending
  // interrupts run first, and again whenever a visit may have raised one.
  run_interrupts();
  for (size_t i = 0; i < timeline_.size(); ++i) {
    if (timeline_[i].interrupt) continue;
    if (done_[i] || running_set_.count(timeline_[i].vcpu) == 0) continue;
    // Only the first pending visit of each vCPU can execute.
    if (cursor(timeline_[i].vcpu) != i) continue;
    if (blocked(timeline_[i].vcpu)) continue;
    const Visit& visit = timeline_[i];
    if (bps_.count(visit.pc) != 0) {
      pending_stop_ = true;
      pending_ = StopEvent{StopEvent::Kind::kBreakpoint, visit.vcpu, 5};
      on_bp_[visit.vcpu] = true;
      return Status::Ok();
    }
    consume(visit.vcpu);
    if (!visit.actor_done.empty() || visit.oops) {
      pending_stop_ = true;
      pending_ = StopEvent{StopEvent::Kind::kWoken, -1, 0};
      // The VM keeps running: the remaining visits continue on the next wait.
      return Status::Ok();
    }
    run_interrupts();
    i = static_cast<size_t>(-1);  // restart from the earliest pending visit
  }
  return Status::Ok();
}

Result<StopEvent> FakeTarget::wait(Deadline) {
  if (!running_) return make_error(ErrorKind::kProtocol, "wait while stopped");
  if (pending_stop_) {
    pending_stop_ = false;
    StopEvent ev = pending_;
    if (ev.kind == StopEvent::Kind::kWoken) {
      // Continue the run in the background, as QEMU would.
      running_ = false;
      std::vector<int> again(running_set_.begin(), running_set_.end());
      (void)resume(again, Deadline::after(std::chrono::milliseconds(1)));
    } else {
      running_ = false;
    }
    return ev;
  }
  // Nothing left that can happen: the deadline passes.
  return make_error(ErrorKind::kTimeout, "no stop reply before the deadline");
}

Result<StopEvent> FakeTarget::interrupt(Deadline) {
  if (!running_) return make_error(ErrorKind::kProtocol, "interrupt while stopped");
  running_ = false;
  if (pending_stop_ && pending_.kind == StopEvent::Kind::kBreakpoint) {
    pending_stop_ = false;
    return pending_;
  }
  pending_stop_ = false;
  return StopEvent{StopEvent::Kind::kOtherStop, 0, 2};
}

Status FakeTarget::step(int vcpu, Deadline) {
  if (running_) return make_error(ErrorKind::kProtocol, "step while running");
  if (stalled_steps_ > 0) {
    --stalled_steps_;
    return Status::Ok();
  }
  const Visit* v = current(vcpu);
  if (v != nullptr && bps_.count(v->pc) != 0) ++retraps_;  // stepping onto a live breakpoint
  // Until it runs again the vCPU is one byte past the stepped instruction,
  // as a real one is, not yet at its next visit.
  if (v != nullptr) past_step_[vcpu] = v->pc + 1;
  consume(vcpu);
  on_bp_[vcpu] = false;
  return Status::Ok();
}

Result<uint64_t> FakeTarget::read_register(int vcpu, std::string_view name, Deadline) {
  if (running_) return make_error(ErrorKind::kProtocol, "register read while running");
  const Visit* v = current(vcpu);
  if (name == "gs_base") return gs_of(vcpu);
  if (name == "rip" && past_step_.count(vcpu) != 0) return past_step_.at(vcpu);
  if (v == nullptr) return last_pc_.count(vcpu) ? last_pc_.at(vcpu) : uint64_t{0xffffffff81000000ull};
  if (asleep(vcpu)) return name == "rip" ? kIdlePc : uint64_t{0};
  if (name == "rip") return v->pc;
  auto it = v->regs.find(std::string(name));
  if (it != v->regs.end()) return it->second;
  if (name == "eflags") return uint64_t{0x202};  // interrupts enabled
  return uint64_t{0};
}

Status FakeTarget::write_register(int vcpu, std::string_view name, uint64_t value, Deadline) {
  if (running_) return make_error(ErrorKind::kProtocol, "register write while running");
  written_[vcpu][std::string(name)] = value;
  return Status::Ok();
}

Result<std::vector<uint8_t>> FakeTarget::read_memory(int vcpu, GuestAddr addr, size_t len, Deadline) {
  if (running_) return make_error(ErrorKind::kProtocol, "memory read while running");
  std::vector<uint8_t> out(len, 0);
  auto put = [&](uint64_t value) {
    for (size_t i = 0; i < len && i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
  };
  const uint64_t a = addr.value();
  // Per-cpu current_task of any vCPU.
  for (int c = 0; c < vcpus_; ++c) {
    if (a == gs_of(c) + kCurrentTask) {
      put(task_of(comm_on(c)));
      return out;
    }
  }
  // The task list: init_task, then every comm of the timeline, circular.
  std::vector<uint64_t> tasks = {kInitTask};
  for (const auto& c : comms_)
    if (exited_.count(c) == 0) tasks.push_back(task_of(c));
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (a == tasks[i] + kTasksOffset) {
      put(tasks[(i + 1) % tasks.size()] + kTasksOffset);
      return out;
    }
  }
  std::vector<std::string> names = comms_;
  for (int c = 0; c < vcpus_; ++c) names.push_back("swapper/" + std::to_string(c));
  for (const auto& comm : names) {
    const uint64_t task = task_of(comm);
    const Visit* next = next_of(comm);
    const bool sleeping = next != nullptr && next->waits_for >= 0 && !done_[static_cast<size_t>(next->waits_for)] &&
                          next->sleeps && cursor(next->vcpu) == static_cast<size_t>(next - timeline_.data());
    if (a == task + kCommOffset) {
      for (size_t i = 0; i < len && i < comm.size(); ++i) out[i] = static_cast<uint8_t>(comm[i]);
      return out;
    }
    if (a == task + kPidOffset) {
      put(100 + static_cast<uint64_t>(std::find(names.begin(), names.end(), comm) - names.begin()));
      return out;
    }
    if (a == task + kStateOffset) {
      put(exited_.count(comm) != 0 ? 0x80 : sleeping ? 2 : 0);  // TASK_DEAD, TASK_UNINTERRUPTIBLE
      return out;
    }
    // thread.sp -> an inactive_task_frame at task+0x2000 whose bp/ret_addr
    // start the frame-pointer chain of `stack`: frame k at task+0x3000+k*16.
    const uint64_t sp = task + 0x2000, fp = task + 0x3000;
    const std::vector<uint64_t> stack = sleeping ? next->stack : std::vector<uint64_t>{};
    if (a == task + kThreadSpOffset) {
      put(sp);
      return out;
    }
    if (a == sp + 40) {  // bp
      put(stack.size() > 1 ? fp : 0);
      return out;
    }
    if (a == sp + 48) {  // ret_addr
      put(stack.empty() ? 0 : stack[0]);
      return out;
    }
    for (size_t k = 0; k + 1 < stack.size(); ++k) {
      const uint64_t frame = fp + k * 16;
      if (a == frame) {
        put(k + 2 < stack.size() ? frame + 16 : 0);
        return out;
      }
      if (a == frame + 8) {
        put(stack[k + 1]);
        return out;
      }
    }
  }
  const Visit* v = current(vcpu);
  if (v != nullptr && v->memory.count(a) != 0) {
    put(v->memory.at(a));
    return out;
  }
  return make_error(ErrorKind::kProtocol, "E14 reading " + addr.hex());
}

}  // namespace racerig::schedule
