// Patch validation rules: from the runs on the base (control) and on the
// patched kernel, one result per scenario, and the human table (JUnit XML:
// rig/verdict/junit.h).
#pragma once

#include <string>

#include "proto/racerig.pb.h"

namespace racerig::verdict {

// FIXED only when the control reproduced on every run and the patched kernel
// was NOT_REPRODUCED (schedule enforced) on every run.
pb::ValidationResult classify(const pb::ReproduceReport& control, const pb::ReproduceReport& patched,
                              std::string* reason);

// An exploring validate (the scenario has explore {}): each kernel traced
// and explored on its own. FIXED only when the hand schedule's runs are
// FIXED by classify(), the control reproduced at one point or more, and on
// the patched kernel no schedule failed the kernel (REPRODUCED, DEADLOCK,
// OTHER_OOPS) and every schedule was exercised (NOT_REPRODUCED with its
// schedule enforced or serialized) or proven unreachable (the held actor
// finished or exited without reaching its point: SCHEDULE_NOT_REACHED).
// NOT_FIXED names each failing point (function file:line #visit and
// direction). An infrastructure error or a map that could not be made is
// ERROR; a STALLED schedule, or an exploration that stopped before its
// planned schedules without a failure, INCONCLUSIVE.
pb::ValidationResult classify_explored(const pb::ReproduceReport& control, const pb::ReproduceReport& patched,
                                       const pb::ExploreReport& control_map, const pb::ExploreReport& patched_map,
                                       std::string* reason);

// "faulter at __xfs_filemap_fault fs/xfs/xfs_file.c:1348 #1 while flipper runs";
// depth 2: "faulter at P, flipper to Q, then faulter finishes".
std::string schedule_label(const pb::ExploredSchedule& s);

// The human table: scenario × kernel, verdict counts, result.
std::string validation_table(const pb::ValidateReport& report);

const char* result_name(pb::ValidationResult r);

// "3 REPRODUCED, 1 STALLED": how many runs of `r` ended in each verdict.
std::string count_text(const pb::ReproduceReport& r);
// The first run of `r` whose verdict is `v`, or nullptr.
const pb::RunReport* first_with(const pb::ReproduceReport& r, pb::Verdict v);

}  // namespace racerig::verdict
