// Runs from a ready-state snapshot (incoming restore or loadvm).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "rig/run/run.h"

namespace racerig::run {

struct RunState;

// Runs from a ready-state snapshot. Two ways, chosen by options.restore:
//
// incoming (the default): the ready state is persisted in the cache
// (ready_store.h), keyed by everything that defines it, and made once by one
// boot whose guest RAM and NVDIMM are files mapped share=on: the agent sets
// the guest up and reports READY with its actors waiting for "go", and only
// the device state is saved (migration with x-ignore-shared). Every run
// starts a fresh QEMU that maps those files copy-on-write (share=off) and
// loads the device state (-incoming): the run costs what it touches, and
// nothing it writes (RAM or NVDIMM) reaches the files. Later invocations
// and other processes reuse the snapshot; a corrupt or mismatched one is
// removed and made again. While a run executes, the next run's VM is
// restored in the background when expect_runs() said more follow.
//
// loadvm (the fallback, and --restore loadvm): QEMU boots once per
// invocation with a small qcow2 drive, savevm after READY (the NVDIMM
// included), and every run restores that state with loadvm in the same
// QEMU; its cost follows the NVDIMM's and RAM's size.
//
// Either way each run arms the schedule, says "go" and is judged exactly as
// run_once does, so each run starts from the same guest state.
class SnapshotRunner {
 public:
  explicit SnapshotRunner(const RunContext& context);
  ~SnapshotRunner();
  // Finds or makes the ready state (run() does it when needed).
  Status prepare(const Progress& progress);
  // How many more run() calls follow the next one (0: none). With more to
  // come, each run restores the next run's VM while it executes.
  void expect_runs(int remaining) { remaining_ = remaining; }
  // `go_argument` goes to the agent with its "go" line ("go 1234"); fsx ops
  // with seed_from_go take it as their seed, so runs from one snapshot can
  // differ in their seed alone.
  // `schedule` (may be null: the context's own) replaces the context's steps
  // and trace for this run alone: explore runs many schedules, each from
  // the same ready state.
  struct Schedule {
    std::vector<schedule::Step> steps;
    std::vector<GuestAddr> trace;
  };
  pb::RunReport run(int index, const Progress& progress, const std::string& go_argument = {},
                    const Schedule* schedule = nullptr);
  // The last prepare(): its wall time, and the boot + set-up part of it
  // (0 when the snapshot came from the cache).
  double prepare_ms() const { return prepare_ms_; }
  double boot_ms() const { return boot_ms_; }
  // "incoming" or "loadvm" once prepared; whether the snapshot was found in
  // the cache; where it is (incoming).
  std::string method() const;
  bool from_cache() const { return from_cache_; }
  std::filesystem::path snapshot_dir() const;
  // The cached, checked snapshot directory of this context's ready state
  // (incoming), or empty; never makes one.
  std::filesystem::path cached_snapshot() const;

 private:
  struct State;
  struct Restored;
  struct Identity;
  Result<Identity> identity(const Progress& progress) const;
  Status prepare_incoming(const Progress& progress);
  Status prepare_loadvm(const Progress& progress);
  // One run's restore, enforce, judge and teardown, into `run`.
  void run_loadvm(const RunContext& ctx, RunState& run, const Progress& progress, const std::string& go_argument);
  void run_incoming(const RunContext& ctx, RunState& run, const Progress& progress, const std::string& go_argument);
  const RunContext& ctx_;
  std::unique_ptr<State> state_;
  double prepare_ms_ = 0, boot_ms_ = 0;
  bool from_cache_ = false;
  int remaining_ = 0;
};

// The ready-state snapshot cache of a work dir.
std::filesystem::path snapshot_store_dir(const std::filesystem::path& work_dir);

}  // namespace racerig::run
