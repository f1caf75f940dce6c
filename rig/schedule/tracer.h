// The tracer: with nothing held, records every arrival of the actors' tasks
// at a set of code addresses (explore's window), in order. Every address is
// a breakpoint; a hit stops the VM (all-stop), is recorded when the task on
// that vCPU is an actor pinned there, and is stepped over; then every vCPU
// runs on. Hits of other tasks are stepped over without a record.
//
// With `first`, that actor's window is traced alone: every other actor is
// parked (its vCPU held) at its first arrival in the window until `first`
// finished its operations (or its task exited), then let go; so the trace of
// `first` is the path it takes when it goes through the window before the
// others, which is the path explore's schedules hold it on. When `first`
// sleeps on a lock (a parked actor may hold it) on `lock_confirmations`
// checks in a row at the same place, the parked actors are let go at once
// instead of at the park limit. When `first` spins waiting for another CPU
// (an IPI to a parked vCPU: a TLB shootdown), the parked vCPUs answer their
// pending interrupts and stop at their park points again, as a held vCPU
// does in the engine; their tasks do not advance.
#pragma once

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/deadline.h"
#include "rig/base/guest_addr.h"
#include "rig/base/result.h"
#include "rig/schedule/engine.h"
#include "rig/schedule/target.h"
#include "rig/schedule/tasks.h"

namespace racerig::schedule {

struct TraceConfig {
  std::vector<Actor> actors;
  std::vector<GuestAddr> addrs;
  TaskLayout task;
  std::chrono::milliseconds rsp_timeout{5000};
  std::function<std::string(GuestAddr)> symbolize;
  std::chrono::steady_clock::time_point origin = std::chrono::steady_clock::now();
  // A runaway window (a hot function hit in a loop) ends the trace with an
  // error instead of running for ever.
  int max_hits = 200000;
  std::string first;  // the actor traced alone first (see above); empty: none
  int lock_confirmations = 3;
  // At most this many rounds of servicing the parked vCPUs' interrupts per
  // trace; past it the parked actors are let go.
  int ipi_services = 1000;
};

class Tracer {
 public:
  // `trace` receives one event per recorded arrival: what "trace", the
  // actor, vcpu, pc (and its symbol); it must outlive the Tracer.
  Tracer(Target& target, TraceConfig config, google::protobuf::RepeatedPtrField<pb::TraceEvent>* trace);

  // VM stopped: inserts every address. Errors name the address.
  Status arm();
  // VM stopped and armed: runs every vCPU until done() (asked after each
  // guest event and at least every `tick`) or the deadline. Returns whether
  // done() became true. The VM is running on return (or exited).
  // `first_done` says whether the guest reported `first` done (the tracer
  // also sees its task exit); parked actors are let go then, or at the
  // latest once `park_limit` passed (the trace then says so).
  Result<bool> run(Deadline deadline, const std::function<bool()>& done, std::chrono::milliseconds tick,
                   const std::function<bool()>& first_done = {},
                   std::chrono::milliseconds park_limit = std::chrono::milliseconds(60000));
  // Stops the VM if needed, removes every breakpoint and resumes every vCPU.
  Status disarm();

  int recorded() const { return recorded_; }
  int foreign() const { return foreign_; }

 private:
  Deadline rsp_deadline() const { return Deadline::after(config_.rsp_timeout); }
  Status resume_all();
  // One stop: record it if it is an actor's arrival; step the vCPU over.
  Status handle(const StopEvent& ev);
  // Whether `first` is finished: reported by the guest, or its task gone.
  Result<bool> first_finished(const std::function<bool()>& first_done);
  // Where `first` sleeps on a lock ("rwsem_down_write_slowpath ← ..."), or
  // empty when it does not (running, runnable, another wait). VM stopped.
  Result<std::string> first_lock_wait();
  Status let_parked_go(const std::string& why);
  // Where `first` spins on its CPU waiting for another CPU (csd_lock_wait,
  // smp_call_function_*), or empty when it does not. VM stopped.
  Result<std::string> first_cpu_wait();
  // Each parked vCPU runs alone until it is back on its park breakpoint:
  // it answers its pending interrupts; its task must not have moved (same
  // rsp). VM stopped; errors name the vCPU and where it went.
  Status service_parked();

  Target& target_;
  TraceConfig config_;
  google::protobuf::RepeatedPtrField<pb::TraceEvent>* trace_;
  TaskReader tasks_;
  int lock_streak_ = 0;
  int services_ = 0;
  std::string lock_where_;
  std::set<uint64_t> inserted_;
  std::set<int> on_bp_;  // vCPUs stopped on an inserted breakpoint
  std::set<int> parked_;  // vCPUs of actors parked until `first` finished
  bool parking_ = false;  // `first` has not finished yet
  bool running_ = false;
  int recorded_ = 0, foreign_ = 0;
};

}  // namespace racerig::schedule
