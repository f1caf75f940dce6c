// The plan the host puts in the initramfs (/racerig/plan.pb): decoding,
// validation, and naming its operations for events.
#pragma once

#include <string>
#include <string_view>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"

namespace racerig::agent {

inline constexpr char kPlanPath[] = "/racerig/plan.pb";
// Where the host packs the scenario's programs (one file per program name).
inline constexpr char kProgramsDir[] = "/racerig/programs";

// Decodes a binary GuestPlan. kInput if the bytes are not one.
Result<pb::GuestPlan> decode_plan(std::string_view bytes);

// Reads and decodes the plan file. kIo if it cannot be read.
Result<pb::GuestPlan> read_plan(const std::string& path);

// Checks what the agent relies on before it starts anything: actor names
// are non-empty, unique in their first 15 bytes (the comm the schedule
// matches), not "prepare" or "check"; cpus are in [0, ncpus); every op has
// a kind and, where it needs one, a path. kInput naming the actor and op.
Status validate_plan(const pb::GuestPlan& plan, int ncpus);

// The op's field name in the schema ("mmap_write", "set_dax"), "(none)" if
// no kind is set.
std::string op_name(const pb::Op& op);

// The op's path, empty for ops without one (drop_caches); an exec op's is
// its program's path in the guest.
std::string op_path(const pb::Op& op);

// The comm the kernel will show for an actor: its name cut to 15 bytes.
std::string comm_of(const std::string& actor_name);

}  // namespace racerig::agent
