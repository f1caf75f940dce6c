// A finished job's artifacts by name, for ReadArtifact: the report as JSON,
// (validate) its JUnit XML, each run's console and, for runs whose logs were
// kept, those log files. Also what GetJob and WatchJob leave out so that no
// reply grows past gRPC's 4 MiB default: the runs' consoles.
//
// Names: "report.json", "junit.xml", "runs/N/console" (N from 1, the runs in
// the order the report holds them, depth first), "runs/N/console.log",
// "runs/N/qemu.log", "runs/N/agent.log" (kept logs only).
#pragma once

#include <string>
#include <vector>

#include "proto/racerig_service.pb.h"
#include "rig/service/status.h"

namespace racerig::service {

// What ReadArtifact streams per message.
inline constexpr size_t kArtifactChunkBytes = size_t{1} << 20;

// The report's runs, depth first, in the order the report holds them;
// empty without a report.
std::vector<const pb::RunReport*> runs_of(const pb::Job& job);
// Clears every run's console in the job's report (ReadArtifact has them).
void strip_consoles(pb::Job& job);
// A report (consoles already left out) larger than this is left out of
// GetJob and WatchJob replies too: a reply stays under gRPC's 4 MiB.
inline constexpr size_t kMaxInlineReportBytes = size_t{3} << 20;
// Clears `job`'s report and sets report_omitted when the report is larger
// than `max_bytes`; true when it did.
bool omit_large_report(pb::Job& job, size_t max_bytes = kMaxInlineReportBytes);

// The names of the artifacts `job` has (see above).
std::vector<std::string> artifact_names(const pb::Job& job);
// The artifact `name` of a finished `job`: NOT_FOUND naming the ones it has
// for a name it does not have, INTERNAL when a kept log cannot be read.
ServiceResult<std::string> artifact_content(const pb::Job& job, const std::string& name);

}  // namespace racerig::service
