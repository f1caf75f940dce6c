// Wall-clock time as reports write it.
#pragma once

#include <ctime>
#include <string>

namespace racerig {

// `t` in UTC as ISO 8601 to the second: "2026-12-02T16:23:25Z".
std::string format_utc(std::time_t t);

// The current time as format_utc writes it.
std::string utc_now();

}  // namespace racerig
