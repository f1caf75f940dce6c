// /proc/PID/stat (see proc_stat.h).
#include "rig/process/proc_stat.h"

#include <charconv>
#include <filesystem>
#include <string>

#include "rig/base/file.h"

namespace racerig::process {

std::optional<std::string_view> stat_field(std::string_view stat, int n) {
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos || n < 3) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  int field = 2;  // the ')' ends field 2
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n')) ++i;
    size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j == i) break;
    if (++field == n) return rest.substr(i, j - i);
    i = j;
  }
  return std::nullopt;
}

namespace {

template <typename T>
std::optional<T> number(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  T v{};
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<uint64_t> parse_start_ticks(std::string_view stat) { return number<uint64_t>(stat_field(stat, 22)); }

std::optional<uint64_t> start_ticks_of(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text.ok()) return std::nullopt;
  return parse_start_ticks(*text);
}

std::vector<pid_t> live_group_members(pid_t pgid, pid_t except) {
  std::vector<pid_t> members;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    auto pid = number<pid_t>(it->path().filename().string());
    if (!pid || *pid == except) continue;
    auto text = read_file(it->path() / "stat", 4096);
    if (!text.ok()) continue;  // gone meanwhile
    if (number<pid_t>(stat_field(*text, 5)) != pgid) continue;
    if (auto state = stat_field(*text, 3); state && *state != "Z" && *state != "X") members.push_back(*pid);
  }
  return members;
}

}  // namespace racerig::process
