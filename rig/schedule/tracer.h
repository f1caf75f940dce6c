// The tracer: with nothing held, records every arrival of the actors' tasks
// at a set of code addresses (explore's window), in order. Every address is
// a breakpoint; a hit stops the VM (all-stop), is recorded when the task on
// that vCPU is an actor pinned there, and is stepped over; then every vCPU
// runs on. Hits of other tasks are stepped over without a record.
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
  Result<bool> run(Deadline deadline, const std::function<bool()>& done, std::chrono::milliseconds tick);
  // Stops the VM if needed, removes every breakpoint and resumes every vCPU.
  Status disarm();

  int recorded() const { return recorded_; }
  int foreign() const { return foreign_; }

 private:
  Deadline rsp_deadline() const { return Deadline::after(config_.rsp_timeout); }
  Status resume_all();
  // One stop: record it if it is an actor's arrival; step the vCPU over.
  Status handle(const StopEvent& ev);

  Target& target_;
  TraceConfig config_;
  google::protobuf::RepeatedPtrField<pb::TraceEvent>* trace_;
  TaskReader tasks_;
  std::set<uint64_t> inserted_;
  std::set<int> on_bp_;  // vCPUs stopped on an inserted breakpoint
  bool running_ = false;
  int recorded_ = 0, foreign_ = 0;
};

}  // namespace racerig::schedule
