// Telling a dead owner from a live one, for what a SIGKILLed racerig left
// behind (run directories, temporary files). A process is named by its pid
// and its start time, so a reused pid is not mistaken for the owner.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace racerig::process {

struct ProcessStamp {
  pid_t pid = 0;
  unsigned long long start = 0;  // /proc/PID/stat start time (clock ticks since boot)
  bool operator==(const ProcessStamp&) const = default;
};

// The stamp of a running process; nullopt when there is none with that pid.
std::optional<ProcessStamp> stamp_of(pid_t pid);
ProcessStamp self_stamp();
// True while that very process (same pid, same start time) exists.
bool is_alive(const ProcessStamp& stamp);
// True while any process has this pid (for names that carry only a pid).
bool pid_alive(pid_t pid);

// "PID START" and back; nullopt for anything else.
std::string format_stamp(const ProcessStamp& stamp);
std::optional<ProcessStamp> parse_stamp(std::string_view text);

// The pid in a name ending in ".tmp<pid>" or ".<pid>.new" (our temporary
// files and directories); nullopt for other names.
std::optional<pid_t> temp_name_pid(std::string_view name);

}  // namespace racerig::process
