// Wall-clock time as reports write it (see time.h).
#include "rig/base/time.h"

namespace racerig {

std::string format_utc(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string utc_now() { return format_utc(std::time(nullptr)); }

}  // namespace racerig
