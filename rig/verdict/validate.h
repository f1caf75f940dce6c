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

// The human table: scenario × kernel, verdict counts, result.
std::string validation_table(const pb::ValidateReport& report);

const char* result_name(pb::ValidationResult r);

// "3 REPRODUCED, 1 STALLED": how many runs of `r` ended in each verdict.
std::string count_text(const pb::ReproduceReport& r);
// The first run of `r` whose verdict is `v`, or nullptr.
const pb::RunReport* first_with(const pb::ReproduceReport& r, pb::Verdict v);

}  // namespace racerig::verdict
