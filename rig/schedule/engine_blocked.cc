// The schedule engine's blocked actors (engine.h): while another actor is
// held, what the awaited one waits for (observe, sample_block), the held
// vCPUs answering its IPIs (service_held), a lock wait that serializes the
// run (serialize), and actors all asleep on locks (check_deadlock). The
// steps, gates and holds are in engine.cc.
#include <algorithm>
#include <climits>
#include <utility>

#include "rig/schedule/engine.h"
#include "rig/schedule/interrupts.h"

namespace racerig::schedule {

Status Engine::service_held(int step) {
  for (auto& [v, h] : held_) {
    const uint64_t pc = h.pc.value();
    if (inserted_.count(pc) == 0) {
      // A breakpoint at the hold PC brings the vCPU back there; the next
      // sync_breakpoints removes it again.
      RACERIG_TRY(target_.insert_breakpoint(h.pc, rsp_deadline()));
      inserted_.insert(pc);
    }
    InterruptService service{v, h.pc, &inserted_, config_.rsp_timeout, config_.symbolize,
                             "vCPU " + std::to_string(v) + " (held: " + h.actor + " at " + h.point + ")",
                             &skipped_hits_};
    Status s = answer_interrupts(target_, service, &running_);
    if (!s.ok()) return s;
    at_bp_[v] = pc;
    record(step, h.actor, "serviced", v, h.pc, "answered pending interrupts; back at " + h.point + ", not advanced");
  }
  return Status::Ok();
}

std::vector<std::string> Engine::held_descriptions(int step) const {
  std::vector<std::string> out;
  for (const auto& [v, h] : held_) {
    std::string how = h.step > step ? " parked early at " : " held at ";
    out.push_back(h.actor + how + h.point + " (vCPU " + std::to_string(v) + ")");
  }
  return out;
}

std::string Engine::with_held(std::string why, int step) const {
  const char* sep = " while ";
  for (const auto& h : held_descriptions(step)) {
    why += sep + h;
    sep = ", ";
  }
  return why;
}

// What `actor_name` does right now (VM stopped): on its CPU (spinning, or
// just running) or switched out (asleep, with its stack).
Result<pb::BlockedTask> Engine::observe(const std::string& actor_name) {
  const Actor* a = actor(actor_name);
  if (a == nullptr) return make_error(ErrorKind::kInternal, "unknown actor " + actor_name);
  pb::BlockedTask b;
  b.set_actor(actor_name);
  b.set_comm(a->comm);
  b.set_vcpu(a->vcpu);
  auto cur = tasks_.current(a->vcpu);
  if (cur.ok() && cur->comm == a->comm) {
    RACERIG_ASSIGN(uint64_t pc, target_.read_register(a->vcpu, "rip", rsp_deadline()));
    std::string sym = config_.symbolize ? config_.symbolize(GuestAddr(pc)) : GuestAddr(pc).hex();
    b.set_pid(cur->pid);
    b.set_state(0);
    b.add_stack(sym);
    b.set_where(std::string(function_of(sym)));
    const WaitKind spin = classify_spin(function_of(sym));
    b.set_wait(spin == WaitKind::kCpu ? "cpu" : spin == WaitKind::kLock ? "lock" : "none");
    return b;
  }
  RACERIG_ASSIGN(uint64_t task, tasks_.find(a->comm));
  if (task == 0) {
    b.set_wait("exited");
    b.set_where("not in the guest's task list");
    return b;
  }
  RACERIG_ASSIGN(uint32_t state, tasks_.state(task));
  b.set_state(state);
  if (TaskReader::dead(state)) {
    b.set_wait("exited");
    b.set_where("exited (TASK_DEAD)");
    return b;
  }
  if (auto pid = tasks_.pid(task); pid.ok()) b.set_pid(*pid);
  if (state == 0) {
    b.set_wait("none");  // runnable, waiting for its CPU
    return b;
  }
  RACERIG_ASSIGN(auto stack, tasks_.stack(task));
  for (const auto& f : stack) b.add_stack(f);
  b.set_where(where_text(stack));
  switch (classify_sleep(stack)) {
    case WaitKind::kLock: b.set_wait("lock"); break;
    case WaitKind::kRcu: b.set_wait("rcu"); break;
    case WaitKind::kCpu: b.set_wait("cpu"); break;
    default: b.set_wait("other"); break;
  }
  return b;
}

std::optional<Outcome> Engine::sample_block(int step, const std::string& actor_name, Goal goal,
                                            const std::string& point,
                                            std::chrono::steady_clock::time_point step_start) {
  if (running_) {
    auto stop = target_.interrupt(rsp_deadline());
    running_ = false;
    if (!stop.ok()) return fail(Outcome::Kind::kError, step, "stopping the VM to look at " + actor_name + ": " + stop.error().message);
    auto r = handle_stop(*stop, step);
    if (!r.ok()) return fail(Outcome::Kind::kError, step, r.error().message);
    if (goal == Goal::kGate && held_vcpu_of(actor_name, step)) return std::nullopt;  // it arrived meanwhile
  }
  auto seen = observe(actor_name);
  if (!seen.ok()) {
    record(step, actor_name, "sample_failed", -1, GuestAddr(0), seen.error().message);
    return std::nullopt;
  }
  if (seen->wait() == "none") {
    block_key_.clear();
    block_streak_ = 0;
    return std::nullopt;
  }
  if (seen->wait() == "exited") {
    // Its task is gone: a run to the end is over; a point is never reached.
    // The agent that would say so may sit on a held vCPU.
    record(step, actor_name, "exited", seen->vcpu(), GuestAddr(0), seen->where());
    if (goal == Goal::kEnd) {
      ended_ = true;
      return std::nullopt;
    }
    return fail(Outcome::Kind::kNotReached, step, with_held(actor_name + " exited without reaching " + point, step));
  }
  if (seen->wait() == "cpu" && services_ < config_.ipi_services) {
    // Real hardware would answer the IPI while the held task stays put.
    ++services_;
    if (Status s = service_held(step); !s.ok()) {
      for (const auto& h : held_descriptions(step)) seen->add_behind(h);
      Outcome o = fail(Outcome::Kind::kStalled, step,
                       actor_name + " waits for another CPU at " + seen->where() +
                           "; servicing the held vCPUs' interrupts did not help: " + s.error().message);
      o.blocked.push_back(*seen);
      return o;
    }
    block_key_.clear();
    block_streak_ = 0;
    return std::nullopt;
  }
  for (const auto& h : held_descriptions(step)) seen->add_behind(h);
  last_seen_ = *seen;
  const std::string key = seen->wait() + "|" + seen->where();
  block_streak_ = key == block_key_ ? block_streak_ + 1 : 1;
  block_key_ = key;
  if (block_streak_ < config_.block_confirmations) return std::nullopt;
  const double detect_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - step_start).count();
  std::string behind;
  for (int i = 0; i < seen->behind_size(); ++i) behind += (i == 0 ? "" : ", ") + seen->behind(i);
  if (seen->wait() == "lock") return serialize(step, *seen, detect_ms);
  if (seen->wait() == "other") return std::nullopt;  // not ours to judge: the step deadline decides
  // An IPI or an RCU grace period needs the held vCPU: the schedule cannot
  // be enforced on this kernel, and that says nothing about a fix.
  record(step, actor_name, "blocked", seen->vcpu(), GuestAddr(0),
         "waits for " + std::string(seen->wait() == "rcu" ? "an RCU grace period" : "work on a held vCPU") + " at " +
             seen->where());
  Outcome o = fail(Outcome::Kind::kStalled, step,
                   actor_name + " cannot go on: it waits for " +
                       (seen->wait() == "rcu" ? std::string("an RCU grace period")
                                              : std::string("another CPU (IPI or stop_machine)")) +
                       " at " + seen->where() + ", which needs a held vCPU (" + behind + ")" +
                       (seen->wait() == "cpu" ? "; the held vCPUs answered their interrupts " +
                                                    std::to_string(services_) + " times and it still waits"
                                              : std::string()) +
                       "; not a lock wait, so not serialization");
  o.blocked.push_back(*seen);
  o.detect_ms = detect_ms;
  return o;
}

// The running actor sleeps on a lock behind held actors: the kernel does
// not allow the schedule's interleaving. Release the held actors in the
// order the schedule releases them and let everything run.
Outcome Engine::serialize(int step, pb::BlockedTask blocked, double detect_ms) {
  std::string behind;
  for (int i = 0; i < blocked.behind_size(); ++i) behind += (i == 0 ? "" : ", ") + blocked.behind(i);
  record(step, blocked.actor(), "blocked", blocked.vcpu(), GuestAddr(0),
         "asleep on a lock at " + blocked.where() + " while " + behind);
  // The order: the first later release step that names the actor (or
  // releases everyone); actors no step releases go last, in hold order.
  std::vector<std::pair<std::pair<int, int>, int>> order;  // ((release step, hold step), vCPU)
  for (const auto& [v, h] : held_) {
    int at = INT_MAX;
    for (int i = step; i < static_cast<int>(config_.steps.size()); ++i) {
      const Step& s = config_.steps[static_cast<size_t>(i)];
      if (s.kind == Step::Kind::kRelease && (s.actor.empty() || s.actor == h.actor)) {
        at = i;
        break;
      }
    }
    order.push_back({{at, h.step}, v});
  }
  std::sort(order.begin(), order.end());
  gates_.clear();
  crash_armed_ = !config_.crash_traps.empty();
  for (size_t i = 0; i < order.size(); ++i) {
    const int v = order[i].second;
    const Held h = held_[v];
    record(step, h.actor, "released", v, h.pc, "serialized: released in schedule order");
    held_.erase(v);
    Status s = resume_unheld();
    if (!s.ok()) return fail(Outcome::Kind::kError, step, s.error().message);
    if (i + 1 == order.size()) break;
    // Let the released actor run a while before the next one goes.
    auto ev = wait(Deadline::after(config_.block_check_interval));
    if (!ev.ok() && ev.error().kind != ErrorKind::kTimeout) return fail(Outcome::Kind::kError, step, ev.error().message);
    if (running_) {
      auto stop = target_.interrupt(rsp_deadline());
      running_ = false;
      if (!stop.ok()) return fail(Outcome::Kind::kError, step, stop.error().message);
    }
  }
  if (order.empty() && !running_) {
    Status s = resume_unheld();
    if (!s.ok()) return fail(Outcome::Kind::kError, step, s.error().message);
  }
  record(-1, "", "schedule_complete", -1, GuestAddr(0), "serialized; all vCPUs resumed, breakpoints removed");
  Outcome o;
  o.kind = Outcome::Kind::kSerialized;
  o.step = step;
  o.reason = "serialized: " + blocked.actor() + " blocked at " + blocked.where() + " while " + behind;
  o.blocked.push_back(std::move(blocked));
  o.detect_ms = detect_ms;
  return o;
}

Result<std::vector<pb::BlockedTask>> Engine::check_deadlock(const std::set<std::string>& finished) {
  std::vector<pb::BlockedTask> out;
  if (!tasks_.can_read_sleepers()) return out;
  RACERIG_TRY(stop());
  if (crash_vcpu_) return out;  // stopped at the crash (--attach): stay stopped
  std::string key;
  bool all_locked = true;
  for (const auto& a : config_.actors) {
    if (finished.count(a.name) != 0) continue;
    auto seen = observe(a.name);
    if (!seen.ok() || seen->wait() != "lock") {
      all_locked = false;
      break;
    }
    key += seen->wait() + "|" + seen->where() + "\n";
    out.push_back(*seen);
  }
  RACERIG_TRY(resume_all());
  if (!all_locked || out.empty()) {
    deadlock_streak_ = 0;
    deadlock_key_.clear();
    return std::vector<pb::BlockedTask>{};
  }
  deadlock_streak_ = key == deadlock_key_ ? deadlock_streak_ + 1 : 1;
  deadlock_key_ = key;
  if (deadlock_streak_ < config_.deadlock_confirmations) return std::vector<pb::BlockedTask>{};
  // Each waits behind the others.
  for (auto& b : out)
    for (const auto& other : out)
      if (other.actor() != b.actor()) b.add_behind(other.actor() + " asleep at " + other.where());
  record(-1, "", "deadlock", -1, GuestAddr(0), std::to_string(out.size()) + " actors asleep on locks, none can go on");
  return out;
}

}  // namespace racerig::schedule
