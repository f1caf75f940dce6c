// The schedule engine: enforces a resolved schedule (hold an actor at a code
// point, run another to a point or to its return, release) on a Target.
//
// Model. Every actor has at most one armed "gate": the next code point the
// schedule expects it to reach. Gates of every actor are armed from the start,
// so an actor that arrives early is held at its gate until the schedule gets
// to it; the interleaving is the same whichever actor is faster. A breakpoint
// hit that matches no gate (another vCPU, another task, a predicate that is
// false) is stepped over without the scenario noticing. Held vCPUs stay
// stopped while the others resume (vCont with per-vCPU actions).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/deadline.h"
#include "rig/base/guest_addr.h"
#include "rig/base/result.h"
#include "rig/schedule/target.h"
#include "rig/schedule/tasks.h"
#include "rig/schedule/waits.h"

namespace racerig::schedule {

struct Predicate {
  std::string reg;  // register name as the gdbstub calls it ("rdx")
  pb::Predicate::Cmp cmp = pb::Predicate::EQ;
  uint64_t value = 0;
  std::string text;  // as written, for messages ("arg3 == 1")
  bool holds(uint64_t actual) const;
};

struct Actor {
  std::string name;
  int vcpu = 0;      // the CPU it is pinned to
  std::string comm;  // the task's comm (name truncated to 15 bytes)
};

struct Step {
  // kRunToEnd: release the actor if held and wait until it finished its
  // operations (the guest reported it done, or its task is gone).
  enum class Kind { kHold, kRun, kRunToReturn, kRunToEnd, kRelease };
  Kind kind = Kind::kHold;
  std::string actor;     // empty for "release every held actor"
  GuestAddr addr;        // kHold, kRun
  // Every address of the point (a file:line can have several, inlined
  // copies included); a hit on any of them is an arrival. Empty: just addr.
  std::vector<GuestAddr> addrs;
  uint64_t func_offset = 0;  // offset of addr in its function (0 = entry)
  std::string point;     // symbolic form, e.g. "__xfs_filemap_fault"
  std::vector<Predicate> when;
  // kHold, kRun: the arrival that counts (1: the first). Earlier arrivals
  // of the actor's task (predicates true) are counted and let through.
  int visit = 1;
  std::string text;      // human description, "hold faulter at ..."
};

// What the guest said since the run started (console and agent lines),
// polled when the Target reports kWoken.
struct GuestStatus {
  bool oops = false;
  std::string oops_headline;
  std::set<std::string> actors_done;
  bool agent_finished = false;  // DONE or FATAL, or QEMU exited
  std::string agent_note;
};
class GuestMonitor {
 public:
  virtual ~GuestMonitor() = default;
  virtual GuestStatus poll() = 0;
};

struct EngineConfig {
  std::vector<Actor> actors;
  std::vector<Step> steps;
  TaskLayout task;
  std::chrono::milliseconds step_timeout{30000};
  std::chrono::milliseconds rsp_timeout{5000};  // one gdbstub request
  std::function<std::string(GuestAddr)> symbolize;  // "func+0x1a/0x80"
  // Blocked-actor detection: while an actor is held, the actor the schedule
  // waits for is sampled this often (VM stopped briefly: its task's state
  // and stack); a wait seen on `block_confirmations` samples in a row is
  // acted on. After the schedule, every unfinished actor asleep on a lock
  // with the same stacks on `deadlock_confirmations` samples is a deadlock.
  // Armed before the last release and kept after the schedule (for
  // --attach): the kernel's oops path. A stop there is the crash, in the
  // faulting task's context (crash_vcpu).
  std::vector<GuestAddr> crash_traps;
  std::chrono::milliseconds block_check_interval{250};
  int block_confirmations = 2;
  // A running actor that waits for another CPU (an IPI: a TLB shootdown,
  // smp_call_function) gets the held vCPUs' pending interrupts serviced at
  // each sample: each held vCPU runs alone with a breakpoint at its hold PC
  // until it is back there, its task not advanced (same PC and stack
  // pointer). The wait is a stall once it outlasts this many services.
  int ipi_services = 4;
  int deadlock_confirmations = 3;
  std::chrono::steady_clock::time_point origin = std::chrono::steady_clock::now();
};

struct Outcome {
  enum class Kind {
    kEnforced,     // every step happened; VM running, breakpoints removed
    kNotReached,   // a gate was never reached (actor finished, guest ended)
    kGuestCrashed, // the kernel oopsed before the schedule completed
    kStalled,      // a step deadline passed, or the running actor waits for
                   // a held vCPU that servicing its interrupts did not help
                   // (RCU grace period, stop_machine, interrupts disabled at
                   // the hold point): `blocked` says which
    kError,        // the target failed (gdbstub, QEMU)
    kSerialized,   // the running actor slept on a lock while others were held:
                   // the held actors were released in schedule order and the
                   // VM is running with every breakpoint removed (`blocked`)
  };
  Kind kind = Kind::kEnforced;
  int step = -1;  // the step that failed
  std::string reason;
  std::vector<pb::VcpuState> vcpus;  // for kStalled (and kNotReached)
  std::vector<pb::BlockedTask> blocked;  // kSerialized, kStalled on a wait
  double detect_ms = 0;  // from the step's start to the confirmed block
};

class Engine {
 public:
  // `trace` receives every event; it must outlive the Engine.
  Engine(Target& target, GuestMonitor& monitor, EngineConfig config,
         google::protobuf::RepeatedPtrField<pb::TraceEvent>* trace);

  // VM stopped. Inserts the first gate of every actor. Errors name the point.
  Status arm();
  // VM stopped and armed. Runs the schedule to the end. Never blocks past
  // step_timeout per step. On kEnforced the VM is left running with every
  // breakpoint removed and every vCPU resumed.
  Outcome execute();
  // Stops the VM if needed and describes every vCPU (PC, symbol, task).
  std::vector<pb::VcpuState> snapshot_vcpus();
  // Stops the VM if needed and removes every breakpoint and hold, so that
  // the guest can run freely afterwards (resume_all).
  Status disarm();
  // Resumes every vCPU that is not held (all of them after the schedule).
  Status resume_all();
  // Target::wait, keeping track of the run state (after the schedule).
  Result<StopEvent> wait(Deadline deadline);
  // Stops the VM if it runs; the stop reply is handled as a schedule stop.
  Status stop();
  // Whether the VM is running, as far as the engine made it so.
  bool running() const { return running_; }
  // The vCPU that stopped at a crash trap (the VM is then stopped).
  std::optional<int> crash_vcpu() const { return crash_vcpu_; }
  // After the schedule (nothing held): stops the VM, looks at every actor
  // not in `finished` and resumes the VM. Returns the blocked tasks once
  // every unfinished actor was asleep on a lock with the same stacks on
  // deadlock_confirmations calls in a row (a deadlock), else an empty list.
  Result<std::vector<pb::BlockedTask>> check_deadlock(const std::set<std::string>& finished);

  int skipped_hits() const { return skipped_hits_; }

 private:
  struct Gate {
    int step = -1;
    std::vector<GuestAddr> addrs;  // a hit on any of them
    uint64_t func_offset = 0;
    std::string point;
    std::vector<Predicate> when;
    std::optional<uint64_t> rsp_eq;  // run-to-return: the caller's frame
    int visit = 1;                   // the arrival that counts
    int seen = 0;                    // arrivals so far
  };
  struct Held {
    std::string actor;
    int step = -1;
    GuestAddr pc;
    uint64_t func_offset = 0;
    std::string point;  // the gate's point, "return to vfs_fileattr_set+0x195/0x1b2"
  };
  const Actor* actor(const std::string& name) const;
  Deadline rsp_deadline() const { return Deadline::after(config_.rsp_timeout); }
  void arm_next_gate(const std::string& actor_name, int after_step);
  Status sync_breakpoints();
  Status resume_unheld();
  Result<bool> handle_stop(const StopEvent& ev, int step);
  Result<TaskInfo> current_task(int vcpu);
  std::optional<int> held_vcpu_of(const std::string& actor_name, int step) const;
  // Runs every unheld vCPU until `actor_name` is held at the gate of
  // `step` (Goal::kGate) or finished its operations (Goal::kEnd).
  enum class Goal { kGate, kEnd };
  Outcome wait_for(int step, const std::string& actor_name, Goal goal);
  // VM stopped: lets every held vCPU service its pending interrupts and
  // stop at its hold point again; an error when one did not come back, or
  // its task moved on.
  Status service_held(int step);
  // One look at `actor_name` while others are held (VM stopped by it).
  // Returns an outcome once a wait is confirmed (kSerialized, kStalled).
  std::optional<Outcome> sample_block(int step, const std::string& actor_name, Goal goal, const std::string& point,
                                      std::chrono::steady_clock::time_point step_start);
  Result<pb::BlockedTask> observe(const std::string& actor_name);
  std::vector<std::string> held_descriptions(int step) const;
  // `why` followed by " while " and held_descriptions(step), if any.
  std::string with_held(std::string why, int step) const;
  Outcome serialize(int step, pb::BlockedTask blocked, double detect_ms);
  Outcome fail(Outcome::Kind kind, int step, std::string reason);
  static Gate gate_of(int step, const Step& s);
  void record(int step, const std::string& actor, const std::string& what, int vcpu, GuestAddr pc,
              const std::string& detail = "", const TaskInfo* task = nullptr);

  Target& target_;
  GuestMonitor& monitor_;
  EngineConfig config_;
  google::protobuf::RepeatedPtrField<pb::TraceEvent>* trace_;
  std::map<std::string, Gate> gates_;  // by actor
  std::set<uint64_t> inserted_;        // breakpoints in the target
  std::map<int, Held> held_;           // by vCPU
  std::map<int, uint64_t> at_bp_;      // vCPU -> PC it stopped on a breakpoint at
  bool running_ = false;
  int skipped_hits_ = 0;
  TaskReader tasks_;
  std::string block_key_;  // the wait seen on the last sample, and how often in a row
  int block_streak_ = 0;
  std::optional<pb::BlockedTask> last_seen_;  // the last wait seen (for a stall's reason)
  bool ended_ = false;  // Goal::kEnd: the awaited actor finished
  int services_ = 0;    // held-vCPU interrupt services during this step
  bool crash_armed_ = false;
  std::optional<int> crash_vcpu_;
  std::string deadlock_key_;
  int deadlock_streak_ = 0;
};

const char* outcome_kind_name(Outcome::Kind kind);

}  // namespace racerig::schedule
