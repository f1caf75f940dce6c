// Explore's points and schedules, without a VM: the window's addresses
// indexed by stable name (function, file, line), a trace run's arrivals
// turned into each actor's ordered points (with visit counts), and the
// schedule that holds one actor at one of its points while another runs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/dwarf/symbols.h"
#include "rig/schedule/engine.h"

namespace racerig::explore {

// A point's stable name without its visit.
struct PointKey {
  std::string function;
  std::string file;
  uint32_t line = 0;
  auto operator<=>(const PointKey&) const = default;
};

class Window {
 public:
  explicit Window(std::vector<dwarf::WindowAddress> addrs);
  // Every address of the window, for the trace run.
  std::vector<GuestAddr> addresses() const;
  size_t size() const { return addrs_.size(); }
  // The window address at `pc`, or nullptr.
  const dwarf::WindowAddress* at(uint64_t pc) const;
  // Every address with this name: a hold there counts visits over all of
  // them, as the trace did.
  std::vector<GuestAddr> addresses_of(const PointKey& key) const;
  // The statements that start at the point's addresses (a point stands for
  // each of them: several lines often start at one address).
  std::vector<dwarf::SourceLine> statements_of(const PointKey& key) const;

 private:
  std::vector<dwarf::WindowAddress> addrs_;
  std::map<uint64_t, size_t> by_pc_;
  std::map<PointKey, std::vector<size_t>> by_key_;
};

PointKey key_of(const dwarf::WindowAddress& a);
PointKey key_of(const pb::ExplorePoint& p);

// Each actor's points from a trace run's events (what "trace", in order),
// the visit being the nth arrival of that actor at any address of the
// point's name. Events at addresses outside the window are ignored.
std::map<std::string, std::vector<pb::ExplorePoint>> points_of(
    const Window& window, const google::protobuf::RepeatedPtrField<pb::TraceEvent>& events);

// Where a trace run stood when it ended, for an error that names it: each
// actor's last arrival (its symbol) and whether the parked actors were let
// go, and why. "faulter last at __xfs_filemap_fault+0x12c/0x17c; flipper
// last at xfs_fileattr_set+0x0/0x5bd; the parked actors were never let go"
std::string trace_standing(const google::protobuf::RepeatedPtrField<pb::TraceEvent>& events);

// "__xfs_filemap_fault fs/xfs/xfs_file.c:1348 #1"
std::string point_label(const pb::ExplorePoint& p);

struct Schedule {
  std::vector<schedule::Step> steps;  // for the engine
  std::vector<pb::Step> scenario;     // the same as scenario data
};

// Hold `held` at `point` (its visit); park `runner` at `runner_first` (its
// first point of the window; none: it is not parked) until then; run
// `runner` to the end of its operations; release `held`.
Schedule schedule_for(const Window& window, const std::string& held, const pb::ExplorePoint& point,
                      const std::string& runner, const pb::ExplorePoint* runner_first);

// Depth 2: hold `held` at `point`; park `runner` at `runner_first` until
// then; run `runner` until `runner_point` (its visit, counted like the
// trace's) and hold it there; run `held` to the end of its operations;
// release `runner`. `runner_first` null: the runner is not parked.
Schedule schedule_depth2(const Window& window, const std::string& held, const pb::ExplorePoint& point,
                         const std::string& runner, const pb::ExplorePoint* runner_first,
                         const pb::ExplorePoint& runner_point);

}  // namespace racerig::explore
