// The tracer (see tracer.h).
#include "rig/schedule/tracer.h"

#include <utility>

namespace racerig::schedule {

Tracer::Tracer(Target& target, TraceConfig config, google::protobuf::RepeatedPtrField<pb::TraceEvent>* trace)
    : target_(target),
      config_(std::move(config)),
      trace_(trace),
      tasks_(target, config_.task, config_.rsp_timeout, config_.symbolize) {}

Status Tracer::arm() {
  for (GuestAddr a : config_.addrs) {
    if (inserted_.count(a.value()) != 0) continue;
    Status s = target_.insert_breakpoint(a, rsp_deadline());
    if (!s.ok()) return s.error().wrap("inserting a trace breakpoint at " + a.hex());
    inserted_.insert(a.value());
  }
  return Status::Ok();
}

// Every vCPU stopped on one of ours steps past it alone first (remove, step,
// re-insert): resumed on it, it would trap again at once.
Status Tracer::resume_all() {
  for (int v : on_bp_) {
    RACERIG_ASSIGN(uint64_t pc, target_.read_register(v, "rip", rsp_deadline()));
    if (inserted_.count(pc) == 0) continue;
    RACERIG_TRY(target_.remove_breakpoint(GuestAddr(pc), rsp_deadline()));
    Status stepped = target_.step(v, rsp_deadline());
    RACERIG_TRY(target_.insert_breakpoint(GuestAddr(pc), rsp_deadline()));
    if (!stepped.ok()) return stepped.error().wrap("stepping vCPU " + std::to_string(v) + " over " + GuestAddr(pc).hex());
  }
  on_bp_.clear();
  std::vector<int> all;
  for (int v = 0; v < target_.vcpu_count(); ++v) all.push_back(v);
  RACERIG_TRY(target_.resume(all, rsp_deadline()));
  running_ = true;
  return Status::Ok();
}

Status Tracer::handle(const StopEvent& ev) {
  running_ = false;
  if (ev.kind != StopEvent::Kind::kBreakpoint || ev.vcpu < 0) return Status::Ok();
  const int v = ev.vcpu;
  RACERIG_ASSIGN(uint64_t pc, target_.read_register(v, "rip", rsp_deadline()));
  if (inserted_.count(pc) == 0) return Status::Ok();
  on_bp_.insert(v);
  RACERIG_ASSIGN(TaskInfo task, tasks_.current(v));
  const Actor* who = nullptr;
  for (const auto& a : config_.actors)
    if (a.vcpu == v && a.comm == task.comm) who = &a;
  if (who == nullptr) {
    ++foreign_;
    return Status::Ok();
  }
  if (++recorded_ > config_.max_hits)
    return make_error(ErrorKind::kInput, "the window was hit more than " + std::to_string(config_.max_hits) +
                                             " times by the actors; narrow it");
  if (trace_ != nullptr) {
    pb::TraceEvent& e = *trace_->Add();
    e.set_step(-1);
    e.set_actor(who->name);
    e.set_what("trace");
    e.set_vcpu(v);
    e.set_pc(pc);
    if (config_.symbolize) e.set_symbol(config_.symbolize(GuestAddr(pc)));
    e.set_t_ms(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - config_.origin).count());
    e.set_comm(task.comm);
    e.set_pid(task.pid);
  }
  return Status::Ok();
}

Result<bool> Tracer::run(Deadline deadline, const std::function<bool()>& done, std::chrono::milliseconds tick) {
  if (!running_) RACERIG_TRY(resume_all());
  while (true) {
    if (done()) return true;
    auto ev = target_.wait(deadline.earlier(Deadline::after(tick)));
    if (!ev.ok()) {
      if (ev.error().kind != ErrorKind::kTimeout) return ev.error();
      if (deadline.expired()) return false;
      continue;
    }
    if (ev->kind == StopEvent::Kind::kExited) {
      running_ = false;
      return done();
    }
    if (ev->kind == StopEvent::Kind::kWoken) continue;
    RACERIG_TRY(handle(*ev));
    RACERIG_TRY(resume_all());
  }
}

Status Tracer::disarm() {
  if (running_) {
    auto ev = target_.interrupt(rsp_deadline());
    running_ = false;
    if (!ev.ok()) return ev.error();
    if (ev->kind == StopEvent::Kind::kBreakpoint && ev->vcpu >= 0) on_bp_.insert(ev->vcpu);
  }
  for (uint64_t a : inserted_) RACERIG_TRY(target_.remove_breakpoint(GuestAddr(a), rsp_deadline()));
  inserted_.clear();
  on_bp_.clear();
  std::vector<int> all;
  for (int v = 0; v < target_.vcpu_count(); ++v) all.push_back(v);
  RACERIG_TRY(target_.resume(all, rsp_deadline()));
  running_ = true;
  return Status::Ok();
}

}  // namespace racerig::schedule
