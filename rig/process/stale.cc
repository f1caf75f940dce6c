// Owners of leftovers (see stale.h).
#include "rig/process/stale.h"

#include "rig/process/proc_stat.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace racerig::process {

namespace {

std::optional<unsigned long long> number(std::string_view s) {
  unsigned long long v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<ProcessStamp> stamp_of(pid_t pid) {
  auto start = start_ticks_of(pid);
  if (!start) return std::nullopt;
  return ProcessStamp{pid, *start};
}

ProcessStamp self_stamp() {
  auto s = stamp_of(::getpid());
  return s ? *s : ProcessStamp{::getpid(), 0};
}

bool is_alive(const ProcessStamp& stamp) {
  auto now = stamp_of(stamp.pid);
  return now && now->start == stamp.start;
}

bool pid_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

std::string format_stamp(const ProcessStamp& stamp) {
  return std::to_string(stamp.pid) + " " + std::to_string(stamp.start);
}

std::optional<ProcessStamp> parse_stamp(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  size_t sp = text.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  auto pid = number(text.substr(0, sp));
  auto start = number(text.substr(sp + 1));
  if (!pid || !start || *pid == 0 || *pid > 0x7fffffff) return std::nullopt;
  return ProcessStamp{static_cast<pid_t>(*pid), *start};
}

std::optional<pid_t> temp_name_pid(std::string_view name) {
  std::string_view digits;
  if (name.size() > 4 && name.ends_with(".new")) {
    std::string_view stem = name.substr(0, name.size() - 4);
    size_t dot = stem.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    digits = stem.substr(dot + 1);
  } else {
    size_t at = name.rfind(".tmp");
    if (at == std::string_view::npos) return std::nullopt;
    digits = name.substr(at + 4);
  }
  auto pid = number(digits);
  if (!pid || *pid == 0 || *pid > 0x7fffffff) return std::nullopt;
  return static_cast<pid_t>(*pid);
}

}  // namespace racerig::process
