// An fsx-like exerciser: a seeded random mix of pwrite, pread, mmap writes
// and reads, truncate and fsync on one file, every read checked against an
// in-memory shadow copy of what the file must contain.
#pragma once

#include <cstdint>

#include "guest/agent/op_status.h"
#include "proto/racerig.pb.h"

namespace racerig::agent {

inline constexpr uint64_t kFsxDefaultOps = 1000;         // when ops and duration_ms are both 0
inline constexpr uint64_t kFsxDefaultMaxSize = 256 << 10;
inline constexpr uint64_t kFsxLimitMaxSize = 64 << 20;   // the shadow lives in guest RAM

struct FsxResult {
  OpStatus status;
  uint64_t seed = 0;  // the seed used (a random one if the spec had 0)
  uint64_t ops_done = 0;
};

// Truncates spec.path() to 0 and runs the mix. Stops at the first syscall
// failure or data mismatch (check_failed; the message names the op number,
// the range, the first bad byte, the seed and the last operations) or after
// spec.ops() operations / spec.duration_ms(), whichever comes first; with
// both 0, kFsxDefaultOps. Ends with a full-file comparison.
FsxResult run_fsx(const pb::Fsx& spec);

}  // namespace racerig::agent
