// The tracer (see tracer.h).
#include "rig/schedule/tracer.h"

#include <utility>

#include "rig/schedule/interrupts.h"
#include "rig/schedule/step_over.h"
#include "rig/schedule/waits.h"

namespace racerig::schedule {

Tracer::Tracer(Target& target, TraceConfig config, google::protobuf::RepeatedPtrField<pb::TraceEvent>* trace)
    : target_(target),
      config_(std::move(config)),
      trace_(trace),
      tasks_(target, config_.task, config_.rsp_timeout, config_.symbolize),
      parking_(!config_.first.empty()) {}

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
    if (parked_.count(v) != 0) continue;  // stays on its breakpoint, stopped
    RACERIG_ASSIGN(uint64_t pc, target_.read_register(v, "rip", rsp_deadline()));
    if (inserted_.count(pc) == 0) continue;
    RACERIG_TRY(step_over(target_, v, GuestAddr(pc), rsp_deadline()));
  }
  on_bp_ = parked_;
  std::vector<int> all;
  for (int v = 0; v < target_.vcpu_count(); ++v)
    if (parked_.count(v) == 0) all.push_back(v);
  RACERIG_TRY(target_.resume(all, rsp_deadline()));
  running_ = true;
  return Status::Ok();
}

Status Tracer::let_parked_go(const std::string& why) {
  parking_ = false;
  if (trace_ != nullptr && !parked_.empty()) {
    pb::TraceEvent& e = *trace_->Add();
    e.set_step(-1);
    e.set_actor(config_.first);
    e.set_what("trace_released");
    e.set_detail(why);
    e.set_t_ms(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - config_.origin).count());
  }
  parked_.clear();
  return Status::Ok();
}

Result<bool> Tracer::first_finished(const std::function<bool()>& first_done) {
  if (first_done && first_done()) return true;
  for (const auto& a : config_.actors) {
    if (a.name != config_.first) continue;
    RACERIG_ASSIGN(uint64_t task, tasks_.find(a.comm));
    if (task == 0) return true;
    RACERIG_ASSIGN(uint32_t state, tasks_.state(task));
    return TaskReader::dead(state);
  }
  return true;  // not an actor: nothing to wait for
}

Result<std::string> Tracer::first_lock_wait() {
  if (!tasks_.can_read_sleepers()) return std::string();
  for (const auto& a : config_.actors) {
    if (a.name != config_.first) continue;
    auto cur = tasks_.current(a.vcpu);
    if (cur.ok() && cur->comm == a.comm) return std::string();  // on its CPU
    RACERIG_ASSIGN(uint64_t task, tasks_.find(a.comm));
    if (task == 0) return std::string();
    RACERIG_ASSIGN(uint32_t state, tasks_.state(task));
    if (state == 0 || TaskReader::dead(state)) return std::string();
    RACERIG_ASSIGN(auto stack, tasks_.stack(task));
    if (classify_sleep(stack) != WaitKind::kLock) return std::string();
    return where_text(stack);
  }
  return std::string();
}

Result<std::string> Tracer::first_cpu_wait() {
  for (const auto& a : config_.actors) {
    if (a.name != config_.first) continue;
    auto cur = tasks_.current(a.vcpu);
    if (!cur.ok() || cur->comm != a.comm) return std::string();  // not on its CPU
    RACERIG_ASSIGN(uint64_t pc, target_.read_register(a.vcpu, "rip", rsp_deadline()));
    const std::string sym = config_.symbolize ? config_.symbolize(GuestAddr(pc)) : GuestAddr(pc).hex();
    if (classify_spin(function_of(sym)) != WaitKind::kCpu) return std::string();
    return std::string(function_of(sym));
  }
  return std::string();
}

Status Tracer::service_parked() {
  for (int v : parked_) {
    RACERIG_ASSIGN(uint64_t pc, target_.read_register(v, "rip", rsp_deadline()));
    if (inserted_.count(pc) == 0)
      return make_error(ErrorKind::kInternal, "parked vCPU " + std::to_string(v) + " is not on a trace breakpoint");
    InterruptService service{v, GuestAddr(pc), &inserted_, config_.rsp_timeout, config_.symbolize,
                             "vCPU " + std::to_string(v) + " (parked)", nullptr};
    RACERIG_TRY(answer_interrupts(target_, service, &running_));
    if (trace_ != nullptr) {
      pb::TraceEvent& e = *trace_->Add();
      e.set_step(-1);
      e.set_what("trace_serviced");
      e.set_vcpu(v);
      e.set_pc(pc);
      if (config_.symbolize) e.set_symbol(config_.symbolize(GuestAddr(pc)));
      e.set_detail("answered pending interrupts; back at its park point, not advanced");
      e.set_t_ms(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - config_.origin).count());
    }
  }
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
  if (parking_ && who->name != config_.first) parked_.insert(v);
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

Result<bool> Tracer::run(Deadline deadline, const std::function<bool()>& done, std::chrono::milliseconds tick,
                         const std::function<bool()>& first_done, std::chrono::milliseconds park_limit) {
  const Deadline park_deadline = Deadline::after(park_limit);
  // While actors are parked, `first` is looked at every tick (VM stopped
  // briefly): the guest may not say it finished, its agent may sit on a
  // parked vCPU.
  auto check_parked = [&]() -> Status {
    if (!parking_ || parked_.empty()) return Status::Ok();
    if (running_) {
      auto stop = target_.interrupt(rsp_deadline());
      running_ = false;
      if (!stop.ok()) return stop.error();
      RACERIG_TRY(handle(*stop));
    }
    RACERIG_ASSIGN(bool finished, first_finished(first_done));
    if (!finished) {
      // `first` waits for an IPI to a parked vCPU: real hardware would
      // answer it while the parked task stays where it is.
      RACERIG_ASSIGN(std::string spin, first_cpu_wait());
      if (!spin.empty()) {
        Status serviced =
            services_ < config_.ipi_services
                ? service_parked()
                : make_error(ErrorKind::kProtocol, std::to_string(services_) + " rounds did not end the wait");
        ++services_;
        if (!serviced.ok()) {
          RACERIG_TRY(let_parked_go(config_.first + " waits for another CPU in " + spin +
                                    " and servicing the parked vCPUs' interrupts did not help (" +
                                    serviced.error().message + "): they were let go"));
          return resume_all();
        }
      }
    }
    std::string lock;
    if (!finished) {
      RACERIG_ASSIGN(lock, first_lock_wait());
      lock_streak_ = lock.empty() ? 0 : lock == lock_where_ ? lock_streak_ + 1 : 1;
      lock_where_ = lock;
    }
    if (finished)
      RACERIG_TRY(let_parked_go(config_.first + " finished its operations"));
    else if (lock_streak_ >= config_.lock_confirmations)
      RACERIG_TRY(let_parked_go(config_.first + " sleeps on a lock at " + lock +
                                " (a parked actor may hold it): they were let go"));
    else if (park_deadline.expired())
      RACERIG_TRY(let_parked_go(config_.first + " did not finish within " + std::to_string(park_limit.count() / 1000) +
                                " s while the others were parked: they were let go"));
    return resume_all();
  };
  if (!running_) RACERIG_TRY(resume_all());
  while (true) {
    if (done()) return true;
    auto ev = target_.wait(deadline.earlier(Deadline::after(tick)));
    if (!ev.ok()) {
      if (ev.error().kind != ErrorKind::kTimeout) return ev.error();
      if (deadline.expired()) return false;
      RACERIG_TRY(check_parked());
      continue;
    }
    if (ev->kind == StopEvent::Kind::kExited) {
      running_ = false;
      return done();
    }
    if (ev->kind == StopEvent::Kind::kWoken) {
      if (parking_ && first_done && first_done()) RACERIG_TRY(check_parked());
      continue;
    }
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
