// The logs of a run that ended in INFRA_ERROR or STALLED, kept for a human
// after its run directory is gone: the serial console, QEMU's own log and
// the agent's lines (never the NVDIMM or RAM images) in
// <root>/<UTC time>-<scenario>-<kernel>-run<N>/ (root: the cache's
// logs/runs). The directory is made private, filled, then opened for
// reading (0755, files 0644): it belongs to whoever runs racerig, never to
// the unprivileged user QEMU runs as. `racerig cache prune` removes old ones.
// keep_logs is the step of a run that does it.
#pragma once

#include <ctime>
#include <filesystem>
#include <string>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/machine/machine.h"
#include "rig/run/run.h"

namespace racerig::run {

// INFRA_ERROR and STALLED: the verdicts whose runs are kept.
bool keeps_logs(pb::Verdict verdict);

// "20261125T190512Z-xfs-dax-flip-vs-write-fault-buggy-run3": `when` in UTC;
// characters outside [A-Za-z0-9._+-] in the names become '_'.
std::string kept_logs_name(std::time_t when, const std::string& scenario, const std::string& kernel, int run);

struct RunLogs {
  std::string console;   // console.log
  std::string qemu;      // qemu.log
  std::string agent;     // agent.log
};

// Writes `logs` into a new directory <root>/<name> (<name>-2, -3, ... when
// taken; `root` is made when missing) and returns its path. Files are
// created fresh (never through an existing name or link). kIo naming the
// path on failure; nothing half-written is left behind.
Result<std::filesystem::path> keep_run_logs(const std::filesystem::path& root, const std::string& name,
                                            const RunLogs& logs);

// The logs of an INFRA_ERROR or STALLED run, kept under the context's
// logs_dir while the VM's logs are still at hand: the place goes into the
// report (kept_logs), a failure to keep them into its reason. Nothing is
// kept for other verdicts, without a logs_dir, or for a run the user
// interrupted.
void keep_logs(const RunContext& ctx, const RunLogs& logs, pb::RunReport& report);
// The same with `vm`'s QEMU and agent logs; `console` is this run's part of
// its console.
void keep_logs(const RunContext& ctx, const machine::Machine& vm, const std::string& console, pb::RunReport& report);

}  // namespace racerig::run
