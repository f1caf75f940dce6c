// /proc/PID/stat: the start time of a process, which together with its pid
// names it uniquely (a reused pid has another start time).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace racerig::process {

// Field 22 (starttime, clock ticks since boot) of a /proc/PID/stat line.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted after its last ')'. nullopt when the line is cut short or the
// field is not a number.
std::optional<uint64_t> parse_start_ticks(std::string_view stat);

// The start time of the live process `pid`; nullopt when there is none
// (or pid <= 0) or its stat cannot be read or parsed.
std::optional<uint64_t> start_ticks_of(pid_t pid);

}  // namespace racerig::process
