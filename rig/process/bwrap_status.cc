// bubblewrap's JSON status lines (see bwrap_status.h).
#include "rig/process/bwrap_status.h"

#include <nlohmann/json.hpp>

#include <string>

namespace racerig::process {

namespace {

constexpr int kSignals = 65;  // Linux: signals 1..64

Error bad_line(int number, std::string_view line, const std::string& why) {
  std::string quoted(line.substr(0, 200));
  return make_error(ErrorKind::kProtocol, "bubblewrap's status, line " + std::to_string(number) + ": " + why +
                                              ": \"" + quoted + "\"");
}

}  // namespace

Result<BwrapStatus> parse_bwrap_status(std::string_view text) {
  BwrapStatus status;
  int number = 0;
  while (true) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) break;  // no newline yet: an unfinished write
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return bad_line(number, line, "not JSON");
    if (!j.is_object()) return bad_line(number, line, "not a JSON object");
    if (auto it = j.find("child-pid"); it != j.end()) {
      if (!it->is_number_integer() || it->get<long long>() <= 0 || it->get<long long>() > 0x3fffffff)
        return bad_line(number, line, "child-pid is not a process id");
      status.child_pid = static_cast<pid_t>(it->get<long long>());
    }
    if (auto it = j.find("exit-code"); it != j.end()) {
      if (!it->is_number_integer() || it->get<long long>() < 0 || it->get<long long>() > 255)
        return bad_line(number, line, "exit-code is not an exit status from 0 to 255");
      status.exit_code = static_cast<int>(it->get<long long>());
    }
  }
  return status;
}

ShellExit decode_shell_exit(int code) {
  if (code > 128 && code < 128 + kSignals) return {true, code - 128};
  return {false, code};
}

}  // namespace racerig::process
