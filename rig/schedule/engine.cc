// Schedule engine implementation: steps, gates, step-over of foreign hits,
// holds (blocked actors, IPIs, serialization, deadlocks: engine_blocked.cc).
#include "rig/schedule/engine.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "rig/schedule/step_over.h"

namespace racerig::schedule {

namespace {

std::string hex(uint64_t v) { return GuestAddr(v).hex(); }

uint64_t le64(const std::vector<uint8_t>& bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes.size() && i < 8; ++i) v |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  return v;
}

}  // namespace

bool Predicate::holds(uint64_t actual) const {
  switch (cmp) {
    case pb::Predicate::EQ: return actual == value;
    case pb::Predicate::NE: return actual != value;
    case pb::Predicate::LT: return actual < value;
    case pb::Predicate::GT: return actual > value;
    default: return false;
  }
}

const char* outcome_kind_name(Outcome::Kind kind) {
  switch (kind) {
    case Outcome::Kind::kEnforced: return "enforced";
    case Outcome::Kind::kNotReached: return "not reached";
    case Outcome::Kind::kGuestCrashed: return "guest crashed";
    case Outcome::Kind::kStalled: return "stalled";
    case Outcome::Kind::kError: return "error";
    case Outcome::Kind::kSerialized: return "serialized";
  }
  return "?";
}

Engine::Engine(Target& target, GuestMonitor& monitor, EngineConfig config,
               google::protobuf::RepeatedPtrField<pb::TraceEvent>* trace)
    : target_(target),
      monitor_(monitor),
      config_(std::move(config)),
      trace_(trace),
      tasks_(target, config_.task, config_.rsp_timeout, config_.symbolize) {}

const Actor* Engine::actor(const std::string& name) const {
  for (const auto& a : config_.actors)
    if (a.name == name) return &a;
  return nullptr;
}

void Engine::record(int step, const std::string& actor_name, const std::string& what, int vcpu,
                    GuestAddr pc, const std::string& detail, const TaskInfo* task) {
  if (trace_ == nullptr) return;
  pb::TraceEvent& e = *trace_->Add();
  e.set_step(step);
  e.set_actor(actor_name);
  e.set_what(what);
  e.set_vcpu(vcpu);
  e.set_pc(pc.value());
  if (pc.value() != 0 && config_.symbolize) e.set_symbol(config_.symbolize(pc));
  e.set_t_ms(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - config_.origin).count());
  e.set_detail(detail);
  if (task != nullptr) {
    e.set_comm(task->comm);
    e.set_pid(task->pid);
  }
}

// Arms the gate of the first Hold/Run-to-point step after `after_step` that
// names this actor, unless a Run-to-return or the end comes first.
void Engine::arm_next_gate(const std::string& actor_name, int after_step) {
  for (int i = after_step + 1; i < static_cast<int>(config_.steps.size()); ++i) {
    const Step& s = config_.steps[i];
    if (s.actor != actor_name) continue;
    if (s.kind == Step::Kind::kHold || s.kind == Step::Kind::kRun) {
      gates_[actor_name] = gate_of(i, s);
      return;
    }
    // Armed when its turn comes; a run to the end has no gate.
    if (s.kind == Step::Kind::kRunToReturn || s.kind == Step::Kind::kRunToEnd) return;
  }
}

Status Engine::sync_breakpoints() {
  std::set<uint64_t> wanted;
  for (const auto& [name, gate] : gates_)
    for (GuestAddr a : gate.addrs) wanted.insert(a.value());
  if (crash_armed_)
    for (GuestAddr a : config_.crash_traps) wanted.insert(a.value());
  for (auto it = inserted_.begin(); it != inserted_.end();) {
    if (wanted.count(*it) == 0) {
      RACERIG_TRY(target_.remove_breakpoint(GuestAddr(*it), rsp_deadline()));
      it = inserted_.erase(it);
    } else {
      ++it;
    }
  }
  for (uint64_t addr : wanted) {
    if (inserted_.count(addr) != 0) continue;
    Status s = target_.insert_breakpoint(GuestAddr(addr), rsp_deadline());
    if (!s.ok()) return s.error().wrap("inserting a breakpoint at " + hex(addr));
    inserted_.insert(addr);
  }
  return Status::Ok();
}

Engine::Gate Engine::gate_of(int step, const Step& s) {
  Gate g;
  g.step = step;
  g.addrs = s.addrs.empty() ? std::vector<GuestAddr>{s.addr} : s.addrs;
  g.func_offset = s.func_offset;
  g.point = s.point;
  g.when = s.when;
  g.visit = std::max(1, s.visit);
  return g;
}

Status Engine::arm() {
  gates_.clear();
  for (const auto& a : config_.actors) arm_next_gate(a.name, -1);
  return sync_breakpoints();
}

// Resumes every vCPU that is not held. A vCPU sitting on an inserted
// breakpoint would trap again at once, so it is stepped past it first
// (remove, step that vCPU alone, re-insert).
Status Engine::resume_unheld() {
  RACERIG_TRY(sync_breakpoints());
  std::vector<int> run;
  for (int v = 0; v < target_.vcpu_count(); ++v)
    if (held_.count(v) == 0) run.push_back(v);
  for (int v : run) {
    auto it = at_bp_.find(v);
    if (it == at_bp_.end()) continue;
    uint64_t pc = it->second;
    at_bp_.erase(it);
    if (inserted_.count(pc) == 0) continue;
    RACERIG_TRY(step_over(target_, v, GuestAddr(pc), rsp_deadline()));
  }
  if (run.empty()) return make_error(ErrorKind::kInternal, "every vCPU is held; nothing can run");
  RACERIG_TRY(target_.resume(run, rsp_deadline()));
  running_ = true;
  return Status::Ok();
}

Result<TaskInfo> Engine::current_task(int vcpu) { return tasks_.current(vcpu); }

std::optional<int> Engine::held_vcpu_of(const std::string& actor_name, int step) const {
  for (const auto& [v, h] : held_)
    if (h.actor == actor_name && (step < 0 || h.step == step)) return v;
  return std::nullopt;
}

// Handles one stop while waiting for `step`. Returns true when the stop was
// a gate arrival (of any actor).
Result<bool> Engine::handle_stop(const StopEvent& ev, int step) {
  running_ = false;
  if (ev.kind != StopEvent::Kind::kBreakpoint || ev.vcpu < 0) return false;
  const int v = ev.vcpu;
  RACERIG_ASSIGN(uint64_t pc, target_.read_register(v, "rip", rsp_deadline()));
  if (inserted_.count(pc) == 0) return false;  // a stop that is not ours
  at_bp_[v] = pc;
  std::optional<TaskInfo> task;
  for (auto it = gates_.begin(); it != gates_.end(); ++it) {
    const std::string& name = it->first;
    Gate& gate = it->second;
    const Actor* a = actor(name);
    const bool here = std::find(gate.addrs.begin(), gate.addrs.end(), GuestAddr(pc)) != gate.addrs.end();
    if (!here || a == nullptr || a->vcpu != v) continue;
    if (!task) {
      RACERIG_ASSIGN(TaskInfo t, current_task(v));
      task = t;
    }
    if (task->comm != a->comm) continue;
    bool ok = true;
    std::string why;
    for (const auto& p : gate.when) {
      RACERIG_ASSIGN(uint64_t value, target_.read_register(v, p.reg, rsp_deadline()));
      if (!p.holds(value)) {
        ok = false;
        why = p.text + " is false (" + p.reg + "=" + hex(value) + ")";
        break;
      }
    }
    if (ok && gate.rsp_eq) {
      RACERIG_ASSIGN(uint64_t rsp, target_.read_register(v, "rsp", rsp_deadline()));
      if (rsp != *gate.rsp_eq) {
        ok = false;
        why = "a different frame (rsp " + hex(rsp) + ", want " + hex(*gate.rsp_eq) + ")";
      }
    }
    if (!ok) {
      ++skipped_hits_;
      record(step, name, "skipped", v, GuestAddr(pc), why, &*task);
      return false;
    }
    if (++gate.seen < gate.visit) {
      // An earlier visit than the one that counts: let it through.
      record(step, name, "passed", v, GuestAddr(pc),
             gate.point + ": visit " + std::to_string(gate.seen) + " of " + std::to_string(gate.visit), &*task);
      return false;
    }
    // The hit's offset in its function (a line point's other addresses lie
    // past the first one).
    held_[v] = Held{name, gate.step, GuestAddr(pc), gate.func_offset + (pc - gate.addrs.front().value()), gate.point};
    record(gate.step, name, gate.step == step ? "arrived" : "arrived_early", v, GuestAddr(pc),
           gate.point, &*task);
    int gate_step = gate.step;
    // `name` is the map's key: erasing frees it (ASan's heap-use-after-free
    // in EngineTest.EnforcesTheSeedScheduleAndSkipsForeignHits).
    const std::string actor_name = name;
    gates_.erase(it);
    arm_next_gate(actor_name, gate_step);
    return true;
  }
  ++skipped_hits_;
  if (!task) {
    auto t = current_task(v);
    if (t.ok()) task = *t;
  }
  record(step, "", "skipped", v, GuestAddr(pc), "no gate of this vCPU's actor here", task ? &*task : nullptr);
  return false;
}

Outcome Engine::fail(Outcome::Kind kind, int step, std::string reason) {
  Outcome out;
  out.kind = kind;
  out.step = step;
  out.reason = std::move(reason);
  out.vcpus = snapshot_vcpus();
  return out;
}

std::vector<pb::VcpuState> Engine::snapshot_vcpus() {
  std::vector<pb::VcpuState> out;
  if (running_) {
    auto ev = target_.interrupt(rsp_deadline());
    running_ = false;
    if (ev.ok() && ev->kind == StopEvent::Kind::kBreakpoint && ev->vcpu >= 0) {
      auto pc = target_.read_register(ev->vcpu, "rip", rsp_deadline());
      if (pc.ok() && inserted_.count(*pc) != 0) at_bp_[ev->vcpu] = *pc;
    }
  }
  for (int v = 0; v < target_.vcpu_count(); ++v) {
    pb::VcpuState s;
    s.set_vcpu(v);
    s.set_held(held_.count(v) != 0);
    auto pc = target_.read_register(v, "rip", rsp_deadline());
    if (pc.ok()) {
      s.set_pc(*pc);
      if (config_.symbolize) s.set_symbol(config_.symbolize(GuestAddr(*pc)));
    } else {
      s.set_where("unreadable: " + pc.error().message);
    }
    auto task = current_task(v);
    if (task.ok()) {
      s.set_comm(task->comm);
      s.set_pid(task->pid);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Runs every unheld vCPU until the goal is met. While another actor is
// held, the awaited actor is sampled every block_check_interval: a lock wait
// confirmed on block_confirmations samples serializes the run; a wait for
// another CPU gets the held vCPUs' interrupts serviced; an RCU wait stalls
// it, named; a task that exited ends a run to the end, and a wait for a
// gate at once (not reached).
Outcome Engine::wait_for(int step, const std::string& actor_name, Goal goal) {
  const auto step_start = std::chrono::steady_clock::now();
  const Deadline deadline = Deadline::after(config_.step_timeout);
  const std::string point = goal == Goal::kEnd ? std::string("the end of its operations")
                            : gates_.count(actor_name) ? gates_[actor_name].point
                                                       : std::string("?");
  block_key_.clear();
  block_streak_ = 0;
  last_seen_.reset();
  ended_ = false;
  services_ = 0;
  auto reached = [&] { return goal == Goal::kGate ? held_vcpu_of(actor_name, step).has_value() : ended_; };
  bool woken = false;
  while (!reached()) {
    if (woken || !running_) {
      // Guest events decide whether the goal can still be met.
      woken = false;
      GuestStatus g = monitor_.poll();
      std::string why;
      Outcome::Kind kind = Outcome::Kind::kNotReached;
      // Any actor whose next point is still armed and that finished its
      // operations can no longer reach it.
      std::string done_early;
      for (const auto& [name, gate] : gates_)
        if (g.actors_done.count(name) != 0 && held_vcpu_of(name, -1) == std::nullopt) {
          done_early = name + " finished its operations without reaching " + gate.point;
          break;
        }
      if (g.oops) {
        kind = Outcome::Kind::kGuestCrashed;
        why = "the kernel reported \"" + g.oops_headline + "\" before " + actor_name + " reached " + point;
      } else if (goal == Goal::kEnd && (g.actors_done.count(actor_name) != 0 || g.agent_finished)) {
        ended_ = true;
        record(step, actor_name, "finished", -1, GuestAddr(0),
               g.actors_done.count(actor_name) != 0 ? "the agent reported it done" : "the agent ended");
      } else if (!done_early.empty()) {
        why = done_early;
      } else if (g.actors_done.count(actor_name) != 0) {
        why = actor_name + " finished its operations without reaching " + point;
      } else if (g.agent_finished) {
        why = "the guest agent ended (" + g.agent_note + ") before " + actor_name + " reached " + point;
      }
      // Which actors stand held or parked says why the goal was missed.
      if (kind == Outcome::Kind::kNotReached && !why.empty()) why = with_held(why, step);
      if (!why.empty() || ended_) {
        if (running_) {
          // Stop the VM; a breakpoint stop that raced with us may be the arrival.
          auto stop = target_.interrupt(rsp_deadline());
          running_ = false;
          if (!stop.ok()) return fail(Outcome::Kind::kError, step, stop.error().message);
          auto r = handle_stop(*stop, step);
          if (r.ok() && reached()) break;
        }
        if (ended_) break;
        return fail(kind, step, why);
      }
    }
    if (!running_) {
      Status s = resume_unheld();
      if (!s.ok()) return fail(Outcome::Kind::kError, step, s.error().message);
    }
    const bool sampling = !held_.empty() && tasks_.can_read_sleepers();
    const Deadline wake = sampling ? deadline.earlier(Deadline::after(config_.block_check_interval)) : deadline;
    auto ev = target_.wait(wake);
    if (!ev.ok()) {
      if (ev.error().kind == ErrorKind::kTimeout && !deadline.expired()) {
        if (auto o = sample_block(step, actor_name, goal, point, step_start)) return *o;
        continue;
      }
      if (ev.error().kind == ErrorKind::kTimeout) {
        std::string why = actor_name + " did not reach " + point + " within " +
                          std::to_string(config_.step_timeout.count() / 1000) + " s";
        if (last_seen_)
          why += "; it was last seen waiting for " + std::string(last_seen_->wait()) + " at " + last_seen_->where();
        std::vector<std::string> held = held_descriptions(step);
        for (size_t i = 0; i < held.size(); ++i) why += (i == 0 ? " while " : ", ") + held[i];
        Outcome o = fail(Outcome::Kind::kStalled, step, why);
        if (last_seen_) o.blocked.push_back(*last_seen_);
        return o;
      }
      return fail(Outcome::Kind::kError, step, ev.error().message);
    }
    if (ev->kind == StopEvent::Kind::kExited)
      return fail(Outcome::Kind::kError, step, "the VM exited while waiting for " + actor_name);
    if (ev->kind == StopEvent::Kind::kWoken) {
      woken = true;  // the VM is still running
      continue;
    }
    auto r = handle_stop(*ev, step);
    if (!r.ok()) return fail(Outcome::Kind::kError, step, r.error().message);
  }
  Outcome ok;
  ok.kind = Outcome::Kind::kEnforced;
  ok.step = step;
  return ok;
}

Status Engine::stop() {
  if (!running_) return Status::Ok();
  auto ev = target_.interrupt(rsp_deadline());
  running_ = false;
  if (!ev.ok()) return ev.error();
  if (ev->kind == StopEvent::Kind::kBreakpoint && ev->vcpu >= 0) {
    auto pc = target_.read_register(ev->vcpu, "rip", rsp_deadline());
    const bool trap = pc.ok() && crash_armed_ &&
                      std::find(config_.crash_traps.begin(), config_.crash_traps.end(), GuestAddr(*pc)) !=
                          config_.crash_traps.end();
    if (trap) {
      crash_vcpu_ = ev->vcpu;
      record(-1, "", "crash_trap", ev->vcpu, GuestAddr(*pc), "the kernel's oops path, in the faulting context");
    } else if (pc.ok() && inserted_.count(*pc) != 0) {
      at_bp_[ev->vcpu] = *pc;
    }
  }
  return Status::Ok();
}

Result<StopEvent> Engine::wait(Deadline deadline) {
  auto ev = target_.wait(deadline);
  if (ev.ok() && ev->kind != StopEvent::Kind::kWoken) running_ = false;
  if (ev.ok() && ev->kind == StopEvent::Kind::kBreakpoint && ev->vcpu >= 0 && crash_armed_) {
    auto pc = target_.read_register(ev->vcpu, "rip", rsp_deadline());
    if (pc.ok() && std::find(config_.crash_traps.begin(), config_.crash_traps.end(), GuestAddr(*pc)) !=
                       config_.crash_traps.end()) {
      crash_vcpu_ = ev->vcpu;
      record(-1, "", "crash_trap", ev->vcpu, GuestAddr(*pc), "the kernel's oops path, in the faulting context");
    } else if (pc.ok() && inserted_.count(*pc) != 0) {
      at_bp_[ev->vcpu] = *pc;
    }
  }
  return ev;
}

Status Engine::resume_all() {
  if (running_) return Status::Ok();
  return resume_unheld();
}

Status Engine::disarm() {
  crash_armed_ = false;
  if (running_) {
    auto ev = target_.interrupt(rsp_deadline());
    running_ = false;
    if (!ev.ok()) return ev.error();
  }
  gates_.clear();
  held_.clear();
  at_bp_.clear();
  return sync_breakpoints();
}

Outcome Engine::execute() {
  for (int i = 0; i < static_cast<int>(config_.steps.size()); ++i) {
    const Step& s = config_.steps[i];
    switch (s.kind) {
      case Step::Kind::kHold:
      case Step::Kind::kRun: {
        // A held actor that must move to reach this point is let go first.
        for (auto it = held_.begin(); it != held_.end(); ++it) {
          if (it->second.actor == s.actor && it->second.step != i) {
            record(i, s.actor, "released", it->first, it->second.pc, "to run to " + s.point);
            held_.erase(it);
            break;
          }
        }
        if (!held_vcpu_of(s.actor, i) && gates_.count(s.actor) == 0)
          gates_[s.actor] = gate_of(i, s);
        Outcome o = wait_for(i, s.actor, Goal::kGate);
        if (o.kind != Outcome::Kind::kEnforced) return o;
        int v = *held_vcpu_of(s.actor, i);
        record(i, s.actor, s.kind == Step::Kind::kHold ? "held" : "reached", v, held_[v].pc, s.text);
        break;
      }
      case Step::Kind::kRunToReturn: {
        auto v = held_vcpu_of(s.actor, -1);
        if (!v) return fail(Outcome::Kind::kError, i, s.actor + " must be held somewhere before it can run to a return");
        Held h = held_[*v];
        // At a function's entry the return address is at [rsp]; elsewhere
        // the frame pointer chain gives it at [rbp+8].
        std::string base_reg = h.func_offset == 0 ? "rsp" : "rbp";
        auto base = target_.read_register(*v, base_reg, rsp_deadline());
        if (!base.ok()) return fail(Outcome::Kind::kError, i, base.error().message);
        uint64_t slot = h.func_offset == 0 ? *base : *base + 8;
        auto ret = target_.read_memory(*v, GuestAddr(slot), 8, rsp_deadline());
        if (!ret.ok()) return fail(Outcome::Kind::kError, i, ret.error().message);
        uint64_t ret_addr = le64(*ret);
        std::string label = config_.symbolize ? config_.symbolize(GuestAddr(ret_addr)) : hex(ret_addr);
        gates_[s.actor] = Gate{i, {GuestAddr(ret_addr)}, 1, "return to " + label, {}, slot + 8};
        record(i, s.actor, "released", *v, h.pc, "to run to its return at " + label);
        held_.erase(*v);
        Outcome o = wait_for(i, s.actor, Goal::kGate);
        if (o.kind != Outcome::Kind::kEnforced) return o;
        int nv = *held_vcpu_of(s.actor, i);
        record(i, s.actor, "returned", nv, held_[nv].pc, s.text);
        break;
      }
      case Step::Kind::kRunToEnd: {
        if (auto v = held_vcpu_of(s.actor, -1)) {
          record(i, s.actor, "released", *v, held_[*v].pc, "to run to the end of its operations");
          held_.erase(*v);
        }
        Outcome o = wait_for(i, s.actor, Goal::kEnd);
        if (o.kind != Outcome::Kind::kEnforced) return o;
        record(i, s.actor, "ran_to_end", -1, GuestAddr(0), s.text);
        break;
      }
      case Step::Kind::kRelease: {
        for (auto it = held_.begin(); it != held_.end();) {
          if (s.actor.empty() || it->second.actor == s.actor) {
            record(i, it->second.actor, "released", it->first, it->second.pc, s.text);
            it = held_.erase(it);
          } else {
            ++it;
          }
        }
        break;
      }
    }
  }
  // The schedule is enforced: remove every gate (the crash traps stay, if
  // any) and let everything run.
  gates_.clear();
  held_.clear();
  crash_armed_ = !config_.crash_traps.empty();
  Status s = resume_unheld();
  if (!s.ok()) return fail(Outcome::Kind::kError, static_cast<int>(config_.steps.size()), s.error().message);
  record(-1, "", "schedule_complete", -1, GuestAddr(0), "all vCPUs resumed, breakpoints removed");
  Outcome done;
  done.kind = Outcome::Kind::kEnforced;
  return done;
}

}  // namespace racerig::schedule
