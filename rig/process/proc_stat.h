// /proc/PID/stat: the start time of a process, which together with its pid
// names it uniquely (a reused pid has another start time), and the live
// members of a process group.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace racerig::process {

// Field 22 (starttime, clock ticks since boot) of a /proc/PID/stat line.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted after its last ')'. nullopt when the line is cut short or the
// field is not a number.
std::optional<uint64_t> parse_start_ticks(std::string_view stat);

// The start time of the live process `pid`; nullopt when there is none
// (or pid <= 0) or its stat cannot be read or parsed.
std::optional<uint64_t> start_ticks_of(pid_t pid);

// Field n (3 or more: field 3 is the state) of a /proc/PID/stat line;
// nullopt when the line is cut short.
std::optional<std::string_view> stat_field(std::string_view stat, int n);

// The processes of group `pgid` that are not zombies, `except` left out, as
// /proc shows them now. A zombie holds no memory, files or working directory;
// what a group kill leaves still running (or still dying) is listed.
std::vector<pid_t> live_group_members(pid_t pgid, pid_t except);

}  // namespace racerig::process
