// /proc/PID/stat (see proc_stat.h).
#include "rig/process/proc_stat.h"

#include <charconv>
#include <string>

#include "rig/base/file.h"

namespace racerig::process {

std::optional<uint64_t> parse_start_ticks(std::string_view stat) {
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  int field = 2;  // the ')' ends field 2
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n')) ++i;
    size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j == i) break;
    if (++field == 22) {
      uint64_t v = 0;
      auto [end, ec] = std::from_chars(rest.data() + i, rest.data() + j, v);
      if (ec != std::errc() || end != rest.data() + j) return std::nullopt;
      return v;
    }
    i = j;
  }
  return std::nullopt;
}

std::optional<uint64_t> start_ticks_of(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text.ok()) return std::nullopt;
  return parse_start_ticks(*text);
}

}  // namespace racerig::process
