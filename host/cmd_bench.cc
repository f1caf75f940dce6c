// racerig bench: the forced schedule against the stress loop on the same
// kernel in the same run, where a forced run's time goes, what kernel
// builds and a warm validate cost, and what exploring a window costs (issue
// 22: schedules per minute, a whole explore, an exploring validate, a new
// candidate end to end), and the service row (issue 25: racerigd workers on
// a PostgreSQL queue, bench_service.h). A command, not a test: it prints
// tables and writes them, with the machine's details, to BENCHMARKS.md.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>
#include <thread>

#include "host/bench_service.h"
#include "host/bench_service_table.h"
#include "host/cli_util.h"
#include "rig/base/file.h"
#include "rig/base/time.h"
#include "host/commands.h"
#include "host/version.h"
#include "rig/dwarf/symbols.h"
#include "rig/jobs/explore_job.h"
#include "rig/jobs/stress_job.h"
#include "rig/jobs/validate_job.h"
#include "rig/kbuild/cache.h"
#include "rig/process/cancel.h"
#include "rig/process/process.h"
#include "rig/run/backend.h"
#include "rig/run/pmem_template.h"
#include "rig/run/run.h"
#include "rig/run/snapshot_runner.h"
#include "rig/verdict/verdict.h"
#include "rig/scenario/scenario.h"

namespace racerig::host {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Stats {
  size_t n = 0;
  double median = 0, max = 0;
};

Stats stats_of(std::vector<double> v) {
  Stats s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  s.max = v.back();
  return s;
}

std::string cpu_model() {
  std::istringstream in(read_file("/proc/cpuinfo").value_or(""));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A one-line change to one file that 0001 does not touch: an incremental
// rebuild of a single object, unique per bench run so the cache cannot
// answer it.
Result<fs::path> write_one_file_patch(const fs::path& dir) {
  const std::string nonce = std::to_string(static_cast<long long>(std::time(nullptr))) + "-" + std::to_string(::getpid());
  const fs::path p = dir / ("bench-one-file-" + nonce + ".patch");
  RACERIG_TRY(write_file(p, "A one-line change to one file, for `racerig bench` (" + nonce + ").\n\n" +
                               "--- a/fs/xfs/xfs_stats.c\n+++ b/fs/xfs/xfs_stats.c\n@@ -1,3 +1,4 @@\n" +
                               " // SPDX-License-Identifier: GPL-2.0\n+/* racerig bench " + nonce + " */\n /*\n" +
                               "  * Copyright (c) 2000-2003,2005 Silicon Graphics, Inc.\n"));
  return p;
}

class QuietProgress : public kbuild::ProgressSink {
 public:
  void stage(const std::string& variant, const std::string& what) override { progress_line(variant + ": " + what); }
  void compile(const std::string&, const std::string&, const kbuild::BuildProgress&) override {}
};

// A job's notes ("loading symbols from ...", an explore's schedules) as
// progress lines.
class JobNotes : public jobs::JobObserver {
 public:
  void note(const std::string& line) override { progress_line(line); }
};

// A job's build stages and notes as progress lines, each remembered with
// when it came: a candidate's tree copy and build are told apart by them.
class TimedStages : public jobs::JobObserver {
 public:
  void stage(const std::string& variant, const std::string& what) override {
    events_.push_back({Clock::now(), true, what});
    progress_line(variant + ": " + what);
  }
  void note(const std::string& line) override {
    events_.push_back({Clock::now(), false, line});
    progress_line(line);
  }
  // The copy of the trusted tree: from its stage to the next stage (the
  // copy is all that happens between them). 0 when no copy was seen.
  double tree_copy_s() const {
    size_t i = first_stage("copying the trusted tree", 0);
    if (i == events_.size()) return 0;
    size_t j = next_stage(i + 1);
    return j == events_.size() ? 0 : seconds(i, j);
  }
  // From the end of the copy (the next stage: applying the patch) to the
  // stage that publishes the outputs: the patch and make. 0 when either end
  // was not seen. (Publishing, deleting the candidate's copy of the tree
  // and loading the symbols come after: the caller's rest.)
  double after_copy_build_s() const {
    size_t i = first_stage("copying the trusted tree", 0);
    if (i == events_.size()) return 0;
    size_t j = next_stage(i + 1);
    if (j == events_.size()) return 0;
    size_t k = first_stage("publishing outputs", j + 1);
    return k == events_.size() ? 0 : seconds(j, k);
  }
  // From the stage that publishes the outputs to the job's first note after
  // it ("validating ..."): publishing, deleting the candidate's copy of the
  // tree, loading both kernels' symbols. 0 when either end was not seen.
  double publish_s() const {
    size_t i = first_stage("publishing outputs", 0);
    for (size_t k = i + 1; k < events_.size(); ++k)
      if (!events_[k].stage) return seconds(i, k);
    return 0;
  }

 private:
  struct Event {
    Clock::time_point at;
    bool stage;
    std::string what;
  };
  size_t first_stage(const std::string& prefix, size_t from) const {
    for (size_t i = from; i < events_.size(); ++i)
      if (events_[i].stage && events_[i].what.rfind(prefix, 0) == 0) return i;
    return events_.size();
  }
  size_t next_stage(size_t from) const {
    for (size_t i = from; i < events_.size(); ++i)
      if (events_[i].stage) return i;
    return events_.size();
  }
  double seconds(size_t a, size_t b) const {
    return std::chrono::duration<double>(events_[b].at - events_[a].at).count();
  }
  std::vector<Event> events_;
};

const char* validation_name(pb::ValidationResult r) {
  switch (r) {
    case pb::FIXED: return "FIXED";
    case pb::NOT_FIXED: return "NOT_FIXED";
    case pb::INCONCLUSIVE: return "INCONCLUSIVE";
    case pb::ERROR: return "ERROR";
    default: return "unspecified";
  }
}

// Per-phase medians of the forced runs.
std::map<std::string, std::vector<double>> phases_of(const pb::ReproduceReport& r) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& run : r.runs())
    for (const auto& t : run.timings()) out[t.phase()].push_back(t.ms());
  return out;
}

std::vector<double> repro_times(const pb::ReproduceReport& r) {
  std::vector<double> out;
  for (const auto& run : r.runs())
    if (run.verdict() == pb::REPRODUCED) out.push_back(run.time_to_oops_ms() / 1000);
  return out;
}

// A run's wall time in seconds: the sum of its phases, less `except` if given.
double wall_s(const pb::RunReport& run, const std::string& except = {}) {
  double ms = 0;
  for (const auto& t : run.timings())
    if (except.empty() || t.phase() != except) ms += t.ms();
  return ms / 1000;
}

std::vector<double> run_walls(const pb::ReproduceReport& r, const std::string& except_phase = {}) {
  std::vector<double> out;
  for (const auto& run : r.runs()) out.push_back(wall_s(run, except_phase));
  return out;
}

// Issue 22's speed rows, as ratios to the bare boot median of the same run;
// nothing when none was measured.
void render_explore(const pb::BenchReport& b, std::ostream& o) {
  if (b.explore_s() <= 0 && b.validate_explore_warm_s() <= 0 && b.candidate_s() <= 0 && b.explore_error().empty() &&
      b.candidate_result().empty())
    return;
  Stats bare = stats_of({b.bare_boot_s().begin(), b.bare_boot_s().end()});
  auto boots = [&](double s) {
    return s > 0 && bare.n != 0 ? fmt("%.2f", s / bare.median) : std::string("—");
  };
  auto secs = [](double s) { return s > 0 ? fmt("%.1f s", s) : std::string("not measured"); };
  auto aim = [&](double s, double at_most) {
    if (s <= 0 || bare.n == 0) return std::string("—");
    return "≤ " + fmt("%.0f", at_most) + ": " + (s <= at_most * bare.median ? "met" : "not met");
  };
  o << "\n### Explore (issue 22), in bare boots (bare boot median "
    << (bare.n != 0 ? fmt("%.2f s", bare.median) + ", " + std::to_string(bare.n) + " boots" : std::string("not measured"))
    << ", same bench run)\n\n| what | wall | bare boots | aim |\n|---|---|---|---|\n";
  if (b.explore_schedules() > 0 && b.explore_schedules_wall_s() > 0) {
    const double per = b.explore_schedules_wall_s() / b.explore_schedules();
    o << "| schedules per minute: " << b.explore_schedules() << " schedules of the explore below, "
      << fmt("%.1f s", b.explore_schedules_wall_s()) << " summed wall | "
      << fmt("%.1f", 60.0 * b.explore_schedules() / b.explore_schedules_wall_s()) << " per minute ("
      << fmt("%.2f s", per) << " a schedule) | " << boots(per) << " a schedule | — |\n";
  }
  o << "| a whole `explore` of the window on `" << b.kernel_variant() << "` (" << b.explore_schedules()
    << " schedules, " << b.explore_reproduced() << " reproduced; trace runs " << fmt("%.1f s", b.explore_trace_s())
    << (b.explore_error().empty() ? std::string() : "; error: " + b.explore_error()) << ") | " << secs(b.explore_s())
    << " | " << boots(b.explore_s()) << " | " << aim(b.explore_s(), 30) << " |\n";
  o << "| a warm exploring `validate` of the upstream-style candidate (" << b.validate_runs()
    << " runs per kernel, both kernels explored; exit " << b.validate_explore_exit() << ") | "
    << secs(b.validate_explore_warm_s()) << " | " << boots(b.validate_explore_warm_s()) << " | "
    << aim(b.validate_explore_warm_s(), 60) << " |\n";
  o << "| a new one-file candidate end to end, patch in, verdict out (" << b.kernel_variant()
    << " + a one-line change to fs/xfs/xfs_stats.c; exploring validate, " << b.validate_runs()
    << " runs per kernel; " << (b.candidate_result().empty() ? "no result" : b.candidate_result()) << ") | "
    << secs(b.candidate_s()) << " | " << boots(b.candidate_s()) << " | — |\n";
  if (b.candidate_s() > 0) {
    o << "| — copying the trusted tree | " << secs(b.candidate_tree_copy_s()) << " | " << boots(b.candidate_tree_copy_s())
      << " | — |\n"
      << "| — the build after the copy (the patch and make bzImage) | "
      << secs(b.candidate_build_s()) << " | " << boots(b.candidate_build_s()) << " | — |\n"
      << "| — exploring both kernels (the two maps' total) | " << secs(b.candidate_explore_s()) << " | "
      << boots(b.candidate_explore_s()) << " | — |\n";
    const double rest = b.candidate_s() - b.candidate_tree_copy_s() - b.candidate_build_s() - b.candidate_explore_s();
    if (b.candidate_tree_copy_s() > 0 && b.candidate_build_s() > 0)
      o << "| — the rest (the trusted tree's check; publishing, deleting the candidate's copy of the tree; "
           "both kernels' symbols; the patched kernel's snapshot; the scenario's own runs) | " << secs(rest) << " | "
        << boots(rest) << " | — |\n";
  }
  o << "\nThe copy and the build of the candidate are told apart by the build's progress stages (the copy\n"
       "runs from its stage to the next); \"not measured\" there means the stages did not show them.\n"
       "Schedules run one after another, each from the ready-state snapshot.\n";
}

std::string render(const pb::BenchReport& b) {
  std::ostringstream o;
  o << "## racerig bench, " << b.date() << "\n\n"
    << "Machine: " << b.cpu_model() << ", " << b.cores() << " cores; " << b.qemu_version() << ", accelerator "
    << b.accelerator() << "; kernel `" << b.kernel_variant() << "` (build id " << b.kernel_build_id().substr(0, 12)
    << ").\n";
  // A bench run with --only explore has no forced runs: their tables are left out.
  const bool forced = b.forced_cold().runs_size() + b.forced_cold_no_template().runs_size() +
                          b.forced_snapshot().runs_size() + b.forced_snapshot_loadvm().runs_size() +
                          b.stress().runs_size() >
                      0;
  if (forced)
    o << "\n### Forced schedule against the stress loop\n\n"
      << "| method | runs | reproduced | rate | median time to reproduction | max time to reproduction | median wall per run |\n"
      << "|---|---|---|---|---|---|---|\n";
  auto row = [&](const std::string& name, const pb::ReproduceReport& r) {
    if (r.runs_size() == 0) return;
    Stats t = stats_of(repro_times(r));
    Stats w = stats_of(run_walls(r));
    o << "| " << name << " | " << r.runs_size() << " | " << r.reproduced() << " | "
      << fmt("%.0f%%", 100.0 * r.reproduced() / r.runs_size()) << " | "
      << (t.n != 0 ? fmt("%.2f s", t.median) : "—") << " | " << (t.n != 0 ? fmt("%.2f s", t.max) : "—") << " | "
      << fmt("%.2f s", w.median) << " |\n";
  };
  row("forced, cold boot per run", b.forced_cold());
  row("forced, cold boot per run, guest runs mkfs.xfs (no NVDIMM template)", b.forced_cold_no_template());
  row("forced, from snapshot (incoming: fresh QEMU, memory files copy-on-write)", b.forced_snapshot());
  row("forced, from snapshot (loadvm in one QEMU)", b.forced_snapshot_loadvm());
  row("stress (fsx vs flip loop, " + fmt("%.0f s", b.stress_duration_s()) + " budget)", b.stress());
  if (forced) {
    o << "\nTimes to reproduction count from the start of the run to the first line of the matching oops on\n"
         "the console: for cold runs that includes QEMU's launch, boot and guest set-up; for snapshot runs\n"
         "(forced and stress) it starts at the restore (the one-time boot, set-up and savevm is the\n"
         "`prepare` phase of the first run, counted in its wall time). Stress runs start from their own\n"
         "snapshot, taken after the same guest set-up; each run's fsx seed is sent with the agent's \"go\".\n";
    {
      Stats bare = stats_of({b.bare_boot_s().begin(), b.bare_boot_s().end()});
      Stats cold = stats_of(run_walls(b.forced_cold()));
      Stats snap = stats_of(run_walls(b.forced_snapshot(), "prepare"));
      o << "\n### Targets\n\n| target | measured | met |\n|---|---|---|\n";
      if (snap.n != 0 && bare.n != 0)
        o << "| a forced run from the snapshot costs at most 0.1 bare boots (median) | median " << fmt("%.3f s", snap.median)
          << " = " << fmt("%.3f", snap.median / bare.median) << " bare boots (max " << fmt("%.3f s", snap.max)
          << "; without the one-time prepare) | " << (snap.median <= 0.1 * bare.median ? "yes" : "no") << " |\n";
      if (b.reproduce_one_warm_s() > 0)
        o << "| `reproduce --runs 1` on a warm cache at most 1.5 s end to end | " << fmt("%.2f s", b.reproduce_one_warm_s())
          << " | " << (b.reproduce_one_warm_s() <= 1.5 ? "yes" : "no") << " |\n";
      if (b.validate_warm_s() > 0)
        o << "| a warm `validate` (both kernels validated before) at most 5 s, " << b.validate_runs()
          << " runs per kernel | " << fmt("%.2f s", b.validate_warm_s()) << " | " << (b.validate_warm_s() <= 5 ? "yes" : "no")
          << " |\n";
      if (bare.n != 0 && cold.n != 0)
        o << "| a cold run costs at most 2 bare boots | median cold run " << fmt("%.2f s", cold.median)
          << " vs bare boot median " << fmt("%.2f s", bare.median) << " (" << bare.n << " boots, max "
          << fmt("%.2f s", bare.max) << "): " << fmt("%.2f", cold.median / bare.median) << " bare boots | "
          << (cold.median <= 2 * bare.median ? "yes" : "no") << " |\n";
      if (bare.n != 0) {
        o << "\n### A run from the snapshot in bare boots (bare boot median " << fmt("%.2f s", bare.median)
          << ", same bench run)\n\n| restore | runs | restore | schedule | finish | wall per run | restore work |\n"
          << "|---|---|---|---|---|---|---|\n";
        for (const auto* r : {&b.forced_snapshot(), &b.forced_snapshot_loadvm()}) {
          if (r->runs_size() == 0) continue;
          auto all = phases_of(*r);
          auto ratio = [&](const std::string& phase) {
            if (all.count(phase) == 0) return std::string("—");
            Stats s = stats_of(all[phase]);
            return fmt("%.3f", s.median / 1000 / bare.median) + " (" + fmt("%.0f ms", s.median) + ")";
          };
          std::vector<double> work;
          for (const auto& run : r->runs())
            if (run.restore_work_ms() > 0) work.push_back(run.restore_work_ms());
          Stats w = stats_of(run_walls(*r, "prepare")), rw = stats_of(work);
          o << "| " << (r == &b.forced_snapshot() ? "incoming" : "loadvm") << " | " << r->runs_size() << " | "
            << ratio("restore") << " | " << ratio("schedule") << " | " << ratio("finish") << " | "
            << fmt("%.3f", w.median / bare.median) << " (" << fmt("%.0f ms", w.median * 1000) << ") | "
            << (rw.n != 0 ? fmt("%.3f", rw.median / 1000 / bare.median) + " (" + fmt("%.0f ms", rw.median) + ")" : "—")
            << " |\n";
        }
        o << "\nMedians, as a fraction of a bare boot (milliseconds in brackets). `restore` is what the run\n"
             "waited for; `restore work` is what making its VM cost (QEMU's launch, the device state, the\n"
             "gdbstub handshake): with more runs to come it is paid while the previous run executes.\n";
      }
      o << "\nA bare boot is QEMU's launch, the kernel's boot to the agent, an empty plan and QEMU's exit.\n"
           "Cold runs start the NVDIMM from a template image (fsdax info block and an empty XFS, made by\n"
           "one boot per kernel and set-up and cached); the first cold run made it (its `template` phase,\n"
           "in its wall time) unless it was cached already.\n";
    }
  }
  for (const auto* r : {&b.forced_cold(), &b.forced_cold_no_template(), &b.forced_snapshot(), &b.forced_snapshot_loadvm(), &b.stress()}) {
    std::map<std::string, int> verdicts;
    for (const auto& run : r->runs()) ++verdicts[verdict::verdict_name(run.verdict())];
    if (r->runs_size() == 0) continue;
    o << "\n"
      << (r == &b.stress()                      ? "Stress"
          : r == &b.forced_cold()               ? "Forced (cold)"
          : r == &b.forced_cold_no_template()   ? "Forced (cold, no template)"
          : r == &b.forced_snapshot_loadvm()    ? "Forced (snapshot, loadvm)"
                                                : "Forced (snapshot, incoming)")
      << " verdicts:";
    for (const auto& [v, n] : verdicts) o << " " << n << " " << v << ";";
    o << "\n";
    if (r == &b.stress()) {
      o << "\n| stress run | fsx seed | verdict | wall | what happened |\n|---|---|---|---|---|\n";
      for (const auto& run : r->runs()) {
        std::string what = run.reason();
        if (what.size() > 160) what = what.substr(0, 157) + "...";
        for (char& c : what)
          if (c == '|' || c == '\n') c = ' ';
        o << "| " << run.run() << " | " << run.seed() << " | " << verdict::verdict_name(run.verdict()) << " | "
          << fmt("%.1f s", wall_s(run)) << " | " << what << " |\n";
      }
    }
  }
  for (const auto* r : {&b.forced_cold(), &b.forced_cold_no_template(), &b.forced_snapshot(), &b.forced_snapshot_loadvm()}) {
    if (r->runs_size() == 0) continue;
    o << "\n### Phases of a forced run ("
      << (r == &b.forced_cold()                ? "cold"
          : r == &b.forced_cold_no_template()  ? "cold, no template"
          : r == &b.forced_snapshot_loadvm()   ? "snapshot, loadvm"
                                               : "snapshot, incoming")
      << ", median of "
      << r->runs_size() << ")\n\n| phase | median | max |\n|---|---|---|\n";
    for (const char* phase : {"template", "prepare", "restore", "boot", "guest_setup", "schedule", "finish", "verdict", "teardown"}) {
      auto all = phases_of(*r);
      if (all.count(phase) == 0) continue;
      Stats s = stats_of(all[phase]);
      o << "| " << phase << " | " << fmt("%.0f ms", s.median) << " | " << fmt("%.0f ms", s.max) << " |\n";
    }
  }
  if (b.forced_cold_libvirt().runs_size() != 0 || b.forced_snapshot_libvirt().runs_size() != 0) {
    // Both backends, as ratios to the direct backend's bare boot.
    Stats bare = stats_of({b.bare_boot_s().begin(), b.bare_boot_s().end()});
    Stats bare_lv = stats_of({b.bare_boot_libvirt_s().begin(), b.bare_boot_libvirt_s().end()});
    o << "\n### Direct QEMU against libvirt (`" << b.libvirt_uri() << "`)\n\n"
      << "| what | backend | runs | reproduced | median wall | max wall | median in bare boots (direct) |\n"
      << "|---|---|---|---|---|---|---|\n";
    auto ratio = [&](double s) { return bare.n != 0 ? fmt("%.2f", s / bare.median) : std::string("—"); };
    auto lv_row = [&](const std::string& what, const std::string& backend, const pb::ReproduceReport& r,
                      const std::string& except) {
      if (r.runs_size() == 0) return;
      Stats w = stats_of(run_walls(r, except));
      o << "| " << what << " | " << backend << " | " << r.runs_size() << " | " << r.reproduced() << " | "
        << fmt("%.2f s", w.median) << " | " << fmt("%.2f s", w.max) << " | " << ratio(w.median) << " |\n";
    };
    auto boot_row = [&](const std::string& backend, const Stats& s) {
      if (s.n == 0) return;
      o << "| bare boot | " << backend << " | " << s.n << " | — | " << fmt("%.2f s", s.median) << " | "
        << fmt("%.2f s", s.max) << " | " << ratio(s.median) << " |\n";
    };
    boot_row("qemu", bare);
    boot_row("libvirt", bare_lv);
    lv_row("forced, cold boot per run", "qemu", b.forced_cold(), "");
    lv_row("forced, cold boot per run", "libvirt", b.forced_cold_libvirt(), "");
    lv_row("forced, from snapshot (without the one-time prepare)", "qemu", b.forced_snapshot(), "prepare");
    lv_row("forced, from snapshot (without the one-time prepare)", "libvirt", b.forced_snapshot_libvirt(), "prepare");
    for (const auto* r : {&b.forced_snapshot(), &b.forced_snapshot_libvirt()}) {
      for (const auto& run : r->runs())
        for (const auto& t : run.timings())
          if (t.phase() == "prepare")
            o << "\nOne-time prepare (boot, set-up, savevm), "
              << (r == &b.forced_snapshot() ? "qemu" : "libvirt") << ": " << fmt("%.2f s", t.ms() / 1000) << ".";
    }
    o << "\n\nlibvirt's runs start a transient domain per VM through the C API; snapshots go through its\n"
         "QEMU monitor passthrough (HMP savevm/loadvm). The libvirt runs come after the direct ones.\n";
    for (const auto* r : {&b.forced_cold_libvirt(), &b.forced_snapshot_libvirt()}) {
      std::map<std::string, int> verdicts;
      for (const auto& run : r->runs()) ++verdicts[verdict::verdict_name(run.verdict())];
      if (r->runs_size() == 0) continue;
      o << "\n" << (r == &b.forced_cold_libvirt() ? "libvirt forced (cold)" : "libvirt forced (snapshot)") << " verdicts:";
      for (const auto& [v, n] : verdicts) o << " " << n << " " << v << ";";
      o << "\n";
    }
  }
  if (forced || b.build_cached_s() > 0 || b.build_one_file_s() > 0 || b.validate_warm_s() > 0 ||
      b.reproduce_one_warm_s() > 0) {
    o << "\n### Kernel builds and validate\n\n| step | wall |\n|---|---|\n";
    auto line = [&](const std::string& what, double s) {
      o << "| " << what << " | " << (s > 0 ? fmt("%.1f s", s) : "not measured") << " |\n";
    };
    line("cold base build (`fixed`: extract, configure, build, in an empty cache)", b.build_cold_base_s());
    line("cached variant (`" + b.kernel_variant() + "` again)", b.build_cached_s());
    line("one-file variant (" + b.kernel_variant() + " + a one-line change to fs/xfs/xfs_stats.c)", b.build_one_file_s());
    line("warm `validate --no-explore` of the upstream-style candidate, validated once before (" +
             std::to_string(b.validate_runs()) + " runs per kernel)",
         b.validate_warm_s());
    line("`reproduce --runs 1` end to end, warm cache (kernel, template, ready-state snapshot)", b.reproduce_one_warm_s());
  }
  render_explore(b, o);
  if (b.has_service()) o << render_service(b.service(), b.cores());
  return o.str();
}

struct BenchOptions {
  int runs = 10, stress_runs = 5, stress_duration = 60, validate_runs = 3;
  int service_jobs = 12;  // the service row's jobs per worker count
  std::string json, kernel = "buggy", out;  // out empty: BENCHMARKS.md of the checkout
  bool cold_build = false, skip_builds = false, kvm = false, skip_libvirt = false, skip_explore = false;
  bool skip_service = false;
  std::string libvirt_uri;  // empty: the default URI
  // empty: every row; "explore": the bare boots and the explore rows;
  // "service": the service row alone.
  std::string only;
};

constexpr const char* kScenario = "xfs-dax-flip-vs-write-fault";

fs::path upstream_candidate() {
  return fs::path(repo_root()) / "kernels/patches/candidates/upstream-defer-dax-change-to-eviction.patch";
}

// Issue 22's speed rows on `options`' kernel: a whole explore of the
// scenario's window, a warm exploring validate of the upstream-style
// candidate (a first pass makes it warm), and a new one-file candidate end
// to end. Each row that fails says why on stdout and stays unmeasured.
void bench_explore(const BenchOptions& args, const run::RunOptions& options, pb::BenchReport& bench) {
  const jobs::JobEnv env = job_env();
  if (!process::cancelled()) {  // the whole explore, kernel and snapshot cached
    jobs::ExploreRequest request;
    request.scenario = kScenario;
    request.kernel = args.kernel;
    request.options = options;
    JobNotes notes;
    auto t = Clock::now();
    auto e = jobs::run_explore(env, request, notes);
    const double wall = seconds_since(t);
    if (!e.ok()) {
      std::printf("explore failed: %s\n", e.error().message.c_str());
      bench.set_explore_error(e.error().message);
    } else {
      const pb::ExploreReport& r = e->report;
      double summed_ms = 0;
      for (const auto& sc : r.schedules()) summed_ms += sc.wall_ms();
      bench.set_explore_schedules(r.schedules_size());
      bench.set_explore_reproduced(r.reproduced());
      bench.set_explore_schedules_wall_s(summed_ms / 1000);
      bench.set_explore_trace_s(r.trace_ms() / 1000);
      bench.set_explore_error(r.error());
      if (!e->cancelled && r.error().empty()) bench.set_explore_s(wall);
      std::printf("explore: %d schedules, %d reproduced, %.1f s (schedules %.1f s summed)%s\n", r.schedules_size(),
                  r.reproduced(), wall, summed_ms / 1000, r.error().empty() ? "" : (", error: " + r.error()).c_str());
      std::fflush(stdout);
    }
  }
  bench.set_validate_runs(args.validate_runs);
  jobs::ValidateRequest validate;
  validate.base = args.kernel;
  validate.scenarios = {kScenario};
  validate.runs = args.validate_runs;
  validate.explore = true;
  validate.options = options;
  // The warm exploring validate: once to have both kernels and their
  // snapshots cached, then timed.
  validate.patches = {upstream_candidate()};
  for (int pass = 1; pass <= 2 && !process::cancelled(); ++pass) {
    JobNotes notes;
    auto t = Clock::now();
    auto v = jobs::run_validate(env, validate, notes);
    const double wall = seconds_since(t);
    if (!v.ok() || v->cancelled || !v->report.error().empty()) {
      std::printf("exploring validate (pass %d) failed: %s\n", pass,
                  !v.ok() ? v.error().message.c_str() : v->report.error().c_str());
      break;
    }
    std::printf("exploring validate (pass %d): exit %d, %.1f s\n", pass, v->exit_code, wall);
    std::fflush(stdout);
    if (pass == 2) {
      bench.set_validate_explore_warm_s(wall);
      bench.set_validate_explore_exit(v->exit_code);
    }
  }
  // A new one-file candidate, patch in, verdict out: the patch is unique to
  // this run, so its kernel is built (tree copy, make) and explored.
  if (!process::cancelled()) {
    char tmpl[] = "/tmp/racerig-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      std::printf("one-file candidate: no temporary directory\n");
      return;
    }
    const fs::path tmp = tmpl;
    auto patch = write_one_file_patch(tmp);
    if (!patch.ok()) {
      std::printf("one-file candidate: %s\n", patch.error().message.c_str());
    } else {
      validate.patches = {*patch};
      TimedStages stages;
      auto t = Clock::now();
      auto v = jobs::run_validate(env, validate, stages);
      const double wall = seconds_since(t);
      if (!v.ok()) {
        bench.set_candidate_result("error: " + v.error().message);
      } else if (!v->report.error().empty() || v->report.scenarios_size() == 0) {
        bench.set_candidate_result("error: " + v->report.error());
      } else {
        const auto& sc = v->report.scenarios(0);
        bench.set_candidate_result(validation_name(sc.result()));
        if (!v->cancelled) {
          bench.set_candidate_s(wall);
          bench.set_candidate_tree_copy_s(stages.tree_copy_s());
          bench.set_candidate_build_s(stages.after_copy_build_s());
          bench.set_candidate_explore_s((sc.control_map().total_ms() + sc.patched_map().total_ms()) / 1000);
        }
      }
      std::printf(
          "one-file candidate: %s, %.1f s (copy %.1f s, patch and make %.1f s, publish, delete the copy and symbols "
          "%.1f s, explore %.1f s)\n",
          bench.candidate_result().c_str(), wall, bench.candidate_tree_copy_s(), bench.candidate_build_s(),
          stages.publish_s(), bench.candidate_explore_s());
      std::fflush(stdout);
      // A one-off: keep the cache clean. The report names the kernel, not its
      // directory: the cache's lookup of the same patch finds it (a hit).
      if (v.ok() && !v->report.patched_variant().empty()) {
        auto cache = open_cache();
        auto base = cache.ok() ? cache->variant(args.kernel) : Result<pb::Variant>(cache.error());
        auto file = kbuild::read_patch(*patch);
        QuietProgress quiet;
        if (base.ok() && file.ok())
          if (auto b = cache->build_with_patches(*base, {*file}, quiet); b.ok() && b->cached) {
            std::error_code ec;
            fs::remove_all(b->dir, ec);
          }
      }
    }
    std::error_code ec;
    fs::remove_all(tmp, ec);
  }
}

// The service row (bench_service.h) into `bench`; a failure is said on
// stdout and kept in the row (its figures so far are kept too).
void bench_service_row(const BenchOptions& args, pb::BenchReport& bench) {
  if (process::cancelled()) return;
  ServiceBenchOptions service;
  service.scenario = kScenario;
  service.kernel = args.kernel;
  service.jobs = args.service_jobs;
  if (Status s = bench_service(service, bench.mutable_service()); !s.ok())
    std::printf("service row: %s\n", s.error().message.c_str());
  std::fflush(stdout);
}

int finish_bench(const BenchOptions& args, const fs::path& out_path, const pb::BenchReport& bench);

int run_bench(const BenchOptions& args) {
  if (args.json == "-")
    if (Status s = reserve_stdout_for_json(); !s.ok()) return report_error("json", s.error());
  const std::string& kernel_name = args.kernel;
  if ((args.only == "explore" && args.skip_explore) || (args.only == "service" && args.skip_service))
    return report_error("bench", make_error(ErrorKind::kInput, "--only " + args.only + " and --skip-" + args.only +
                                                                   ": nothing to measure"));
  // Some rows only: BENCHMARKS.md is not replaced by a partial table unless --out says where.
  const fs::path out_path = !args.out.empty()    ? fs::path(args.out)
                            : args.only.empty() ? fs::path(repo_root()) / "BENCHMARKS.md"
                                                : fs::path();
  process::install_cancel_handlers();

  run::RunOptions options;
  options.kvm = args.kvm;
  options.work_dir = work_dir();
  pb::BenchReport bench;
  bench.set_date(utc_now());
  bench.set_cpu_model(cpu_model());
  bench.set_cores(static_cast<int>(std::thread::hardware_concurrency()));
  bench.set_qemu_version(qemu_version(options.qemu));
  bench.set_accelerator(options.kvm ? "kvm" : "tcg");

  const bool all = args.only.empty();  // else only the bare boots and the explore rows, or the service row

  if (args.only == "service") {  // the service row alone: no VM of the bench's own
    auto kernel = ensure_kernel(kernel_name);
    if (!kernel.ok()) return report_error("bench", kernel.error());
    bench.set_kernel_variant(kernel->variant);
    bench.set_kernel_build_id(kernel->build_id);
    bench_service_row(args, bench);
    const int code = finish_bench(args, out_path, bench);
    return code == kExitOk && !bench.service().error().empty() ? kExitInfra : code;
  }

  // The forced scenario, cold.
  auto path = scenario::find_scenario(kScenario, fs::path(repo_root()) / "scenarios");
  if (!path.ok()) return report_error("bench", path.error());
  auto loaded = scenario::load_scenario(*path, options.cpus);
  if (!loaded.ok()) return report_error("bench", loaded.error());
  auto kernel = ensure_kernel(kernel_name);
  if (!kernel.ok()) return report_error("bench", kernel.error());
  bench.set_kernel_variant(kernel->variant);
  bench.set_kernel_build_id(kernel->build_id);
  auto syms = dwarf::Symbols::open(kernel->vmlinux.string());
  if (!syms.ok()) return report_error("bench", syms.error());
  std::shared_ptr<const dwarf::Symbols> shared(std::move(*syms));
  auto ctx = run::prepare_run(*kernel, shared, std::move(*loaded), options);
  if (!ctx.ok()) return report_error("bench", ctx.error());
  auto collect = [&](pb::ReproduceReport* into, const pb::RunReport& r) {
    *into->add_runs() = r;
    into->set_total(into->runs_size());
    into->set_reproduced(into->reproduced() + (r.verdict() == pb::REPRODUCED));
  };
  if (all) {
    // The NVDIMM template is made again, so its one-time cost is measured
    // (the first snapshot run's `template` phase).
    std::error_code ec;
    if (std::filesystem::remove(run::pmem_template_path(*ctx), ec))
      progress_line("removed the cached NVDIMM template; the first run makes it again");
    // The ready-state snapshot is made again too, so the first run's
    // `prepare` shows what making it costs; the other runs restore it.
    run::SnapshotRunner snapshots(*ctx);
    if (const fs::path cached = snapshots.cached_snapshot(); !cached.empty()) {
      fs::remove_all(cached, ec);
      progress_line("removed the cached ready-state snapshot; the first run makes it again");
    }
    for (int i = 1; i <= args.runs && !process::cancelled(); ++i) {
      snapshots.expect_runs(args.runs - i);
      pb::RunReport r = snapshots.run(i, [](const std::string&) {});
      std::printf("forced (snapshot, %s) run %d: %s, %.2f s to the oops\n", r.restore_method().c_str(), i,
                  verdict::verdict_name(r.verdict()), r.time_to_oops_ms() / 1000);
      std::fflush(stdout);
      collect(bench.mutable_forced_snapshot(), r);
    }
  }
  if (all) {  // The loadvm fallback on the same kernel, for comparison.
    run::RunContext loadvm = *ctx;
    loadvm.options.restore = run::RunOptions::Restore::kLoadvm;
    run::SnapshotRunner snapshots(loadvm);
    for (int i = 1; i <= args.runs && !process::cancelled(); ++i) {
      pb::RunReport r = snapshots.run(i, [](const std::string&) {});
      std::printf("forced (snapshot, loadvm) run %d: %s, %.2f s to the oops\n", i, verdict::verdict_name(r.verdict()),
                  r.time_to_oops_ms() / 1000);
      std::fflush(stdout);
      collect(bench.mutable_forced_snapshot_loadvm(), r);
    }
  }
  for (int i = 1; all && i <= args.runs && !process::cancelled(); ++i) {
    pb::RunReport r = run::run_once(*ctx, i, [](const std::string&) {});
    std::printf("forced (cold) run %d: %s, %.2f s to the oops\n", i, verdict::verdict_name(r.verdict()),
                r.time_to_oops_ms() / 1000);
    std::fflush(stdout);
    collect(bench.mutable_forced_cold(), r);
  }
  if (all) {  // The same, with the guest making its own filesystem in every boot.
    run::RunContext own_fs = *ctx;
    own_fs.options.pmem_template = false;
    for (int i = 1; i <= args.runs && !process::cancelled(); ++i) {
      pb::RunReport r = run::run_once(own_fs, i, [](const std::string&) {});
      std::printf("forced (cold, no template) run %d: %s, %.2f s to the oops\n", i,
                  verdict::verdict_name(r.verdict()), r.time_to_oops_ms() / 1000);
      std::fflush(stdout);
      collect(bench.mutable_forced_cold_no_template(), r);
    }
  }
  {  // Bare boots: the agent with an empty plan, then power off.
    run::RunContext bare = *ctx;
    bare.steps.clear();
    bare.scenario.scenario.clear_workload();
    bare.scenario.scenario.mutable_workload()->mutable_setup()->set_skip_fsdax(true);
    bare.scenario.scenario.clear_expect();
    for (int i = 1; i <= std::min(args.runs, 5) && !process::cancelled(); ++i) {
      pb::RunReport r = run::run_once(bare, i, [](const std::string&) {});
      const double s = wall_s(r);
      std::printf("bare boot %d: %s, %.2f s\n", i, verdict::verdict_name(r.verdict()), s);
      if (r.verdict() == pb::NOT_REPRODUCED) bench.add_bare_boot_s(s);
    }
  }

  // The same forced runs and bare boots through libvirt.
  if (all && !args.skip_libvirt) {
    run::RunContext lv = *ctx;
    lv.options.backend = machine::Backend::kLibvirt;
    lv.options.libvirt_uri = args.libvirt_uri;
    bench.set_libvirt_uri(run::libvirt_uri_of(lv.options));
    {
      run::SnapshotRunner snapshots(lv);
      for (int i = 1; i <= args.runs && !process::cancelled(); ++i) {
        pb::RunReport r = snapshots.run(i, [](const std::string&) {});
        std::printf("libvirt forced (snapshot) run %d: %s, %.2f s wall\n", i, verdict::verdict_name(r.verdict()), wall_s(r));
        std::fflush(stdout);
        collect(bench.mutable_forced_snapshot_libvirt(), r);
      }
    }
    for (int i = 1; i <= args.runs && !process::cancelled(); ++i) {
      pb::RunReport r = run::run_once(lv, i, [](const std::string&) {});
      std::printf("libvirt forced (cold) run %d: %s, %.2f s wall\n", i, verdict::verdict_name(r.verdict()), wall_s(r));
      std::fflush(stdout);
      collect(bench.mutable_forced_cold_libvirt(), r);
    }
    run::RunContext bare = lv;
    bare.steps.clear();
    bare.scenario.scenario.clear_workload();
    bare.scenario.scenario.mutable_workload()->mutable_setup()->set_skip_fsdax(true);
    bare.scenario.scenario.clear_expect();
    for (int i = 1; i <= std::min(args.runs, 5) && !process::cancelled(); ++i) {
      pb::RunReport r = run::run_once(bare, i, [](const std::string&) {});
      const double s = wall_s(r);
      std::printf("libvirt bare boot %d: %s, %.2f s\n", i, verdict::verdict_name(r.verdict()), s);
      if (r.verdict() == pb::NOT_REPRODUCED) bench.add_bare_boot_libvirt_s(s);
    }
  }

  // The stress baseline, same kernel.
  if (all) {
    bench.set_stress_duration_s(args.stress_duration);
    JobNotes notes;
    auto stress = jobs::prepare_stress(job_env(), "stress-fsx-vs-dax-flip", kernel_name, options, args.stress_duration,
                                       /*cold=*/false, notes);
    if (!stress.ok()) return report_error("bench", stress.error());
    const uint64_t seed_base = static_cast<uint64_t>(std::time(nullptr) % 9000) * 10;
    for (int i = 1; i <= args.stress_runs && !process::cancelled(); ++i) {
      pb::RunReport r = jobs::run_stress_once(**stress, i, seed_base + static_cast<uint64_t>(i), [](const std::string&) {});
      std::printf("stress run %d (seed %llu): %s%s\n", i, static_cast<unsigned long long>(r.seed()),
                  verdict::verdict_name(r.verdict()),
                  r.verdict() == pb::REPRODUCED ? (", " + fmt("%.2f s", r.time_to_oops_ms() / 1000) + " to the oops").c_str()
                                                : (" — " + r.reason().substr(0, 160)).c_str());
      std::fflush(stdout);
      collect(bench.mutable_stress(), r);
    }
  }

  // Kernel builds and a warm validate.
  if (all && !args.skip_builds && !process::cancelled()) {
    auto t = Clock::now();
    if (ensure_kernel(kernel_name).ok()) bench.set_build_cached_s(seconds_since(t));
    auto cache = open_cache();
    char tmpl[] = "/tmp/racerig-bench-XXXXXX";
    if (cache.ok() && ::mkdtemp(tmpl) != nullptr) {
      const fs::path tmp = tmpl;
      QuietProgress quiet;
      auto patch = write_one_file_patch(tmp);
      auto base = cache->variant(kernel_name);
      auto file = patch.ok() ? kbuild::read_patch(*patch) : Result<kbuild::PatchFile>(patch.error());
      if (file.ok() && base.ok()) {
        auto b = cache->build_with_patches(*base, {*file}, quiet);
        if (b.ok()) {
          bench.set_build_one_file_s(b->seconds);
          std::error_code ec;
          fs::remove_all(b->dir, ec);  // a one-off: keep the cache clean
        } else {
          std::printf("one-file build failed: %s\n", b.error().message.c_str());
        }
      }
      if (args.cold_build) {
        auto cold = open_cache(tmp / "cache");
        auto fixed = cold.ok() ? cold->variant("fixed") : Result<pb::Variant>(cold.error());
        if (fixed.ok()) {
          auto b = cold->build(*fixed, quiet);
          if (b.ok()) bench.set_build_cold_base_s(b->seconds);
          else std::printf("cold build failed: %s\n", b.error().message.c_str());
        }
      }
      std::error_code ec;
      fs::remove_all(tmp, ec);
    }
  }
  // The warm validate, as a user runs it (also with --skip-builds): once to
  // have both kernels' snapshots cached (and the patched kernel built), then
  // timed. Its own schedule only (--no-explore): the exploring validate is
  // an explore row.
  if (all && !process::cancelled()) {
    bench.set_validate_runs(args.validate_runs);
    const std::vector<std::string> validate = {
        "/proc/self/exe", "validate", "--no-explore", "--runs", std::to_string(args.validate_runs), "--patch",
        upstream_candidate().string()};
    for (int pass = 1; pass <= 2 && !process::cancelled(); ++pass) {
      auto t = Clock::now();
      process::Limits limits;
      limits.deadline = Deadline::after_seconds(1800);
      auto v = process::run(process::Spec{validate}, limits);
      if (v.ok() && v->code == 0) {
        if (pass == 2) bench.set_validate_warm_s(seconds_since(t));
      } else {
        std::printf("validate (pass %d) did not end FIXED: %s\n", pass,
                    v.ok() ? v->output.c_str() : v.error().message.c_str());
        break;
      }
    }
  }
  // `reproduce --runs 1` as a user runs it, on the cache every step above
  // left warm (the snapshot runs made the ready state).
  if (all && !process::cancelled()) {
    auto t = Clock::now();
    process::Limits limits;
    limits.deadline = Deadline::after_seconds(600);
    auto r = process::run(process::Spec{{"/proc/self/exe", "reproduce", "--runs", "1", "--scenario",
                                         "xfs-dax-flip-vs-write-fault", "--kernel", kernel_name}},
                          limits);
    if (r.ok() && r->code == 0) bench.set_reproduce_one_warm_s(seconds_since(t));
    else std::printf("reproduce --runs 1 did not reproduce: %s\n", r.ok() ? r->output.c_str() : r.error().message.c_str());
  }

  if (all && !args.skip_service) bench_service_row(args, bench);
  // Issue 22's explore rows, last: they take minutes.
  if (!args.skip_explore) bench_explore(args, options, bench);
  return finish_bench(args, out_path, bench);
}

// Prints the tables, writes them to `out_path` (unless empty) and the JSON
// to --json; the exit code (kExitInfra when interrupted).
int finish_bench(const BenchOptions& args, const fs::path& out_path, const pb::BenchReport& bench) {
  const std::string table = render(bench);
  std::printf("\n%s", table.c_str());
  if (out_path.empty()) {
    progress_line("--only without --out: BENCHMARKS.md left as it is");
  } else if (Status s = write_file(out_path, "# Benchmarks\n\nWritten by `racerig bench` (see README). Figures are measurements "
                                      "of one run on the\nmachine named below; they are not targets and no test asserts "
                                      "them.\n\n" + table);
      !s.ok()) {
    return report_error("bench", s.error());
  } else {
    progress_line("wrote " + out_path.string());
  }
  if (!args.json.empty()) {
    if (Status s = write_json(bench, args.json); !s.ok()) return report_error("json", s.error());
  }
  if (process::cancelled()) {
    progress_line("interrupted");
    return kExitInfra;
  }
  return kExitOk;
}

}  // namespace

Command add_bench_command(CLI::App& root) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* app =
      root.add_subcommand("bench", "forced vs stress, phase timings, build timings; writes BENCHMARKS.md");
  add_count_option(*app, "--runs", o->runs, "forced runs of each kind (cold, cold without template, snapshot)");
  add_count_option(*app, "--stress-runs", o->stress_runs, "stress runs");
  add_count_option(*app, "--stress-duration", o->stress_duration, "seconds per stress run");
  add_count_option(*app, "--validate-runs", o->validate_runs, "runs per kernel of the timed warm validate");
  add_json_option(*app, o->json, "the measurements");
  app->add_option("--kernel", o->kernel, "the kernel variant to measure")->type_name("VARIANT")->capture_default_str();
  app->add_flag("--cold-build", o->cold_build, "also time a cold base build in an empty temporary cache (minutes)");
  app->add_flag("--skip-builds", o->skip_builds, "skip the kernel build timings (the warm validate and reproduce still run)");
  app->add_flag("--kvm", o->kvm, "use KVM instead of TCG");
  app->add_flag("--skip-libvirt", o->skip_libvirt, "skip the same forced runs and bare boots through libvirt");
  app->add_flag("--skip-explore", o->skip_explore,
                "skip the explore rows (a whole explore, an exploring validate, a new candidate end to end)");
  app->add_flag("--skip-service", o->skip_service,
                "skip the service row (racerigd frontends and 1, 2, 3 workers on a PostgreSQL queue of its own)");
  add_count_option(*app, "--service-jobs", o->service_jobs,
                   "the service row's jobs, submitted at once per worker count");
  app->add_option("--only", o->only,
                  "measure only these rows: explore (with the bare boots they are measured against), or service "
                  "(needs the racerigd beside racerig, and PostgreSQL 15)")
      ->type_name("ROWS")
      ->check(CLI::IsMember({"explore", "service"}));
  app->add_option("--out", o->out,
                  "where to write the tables (default: BENCHMARKS.md of the checkout; with --only, nowhere)")
      ->type_name("FILE");
  app->add_option("--libvirt-uri", o->libvirt_uri,
                  "libvirt's URI for those runs (default: qemu:///embed?root=<cache>/libvirt)")
      ->type_name("URI");
  return Command{app, [o] { return run_bench(*o); }};
}

}  // namespace racerig::host
