// libvirt's log of a domain (see domain_log.h).
#include "rig/libvirt/domain_log.h"

#include "rig/libvirt/connection.h"

namespace racerig::libvirt {

std::optional<std::filesystem::path> domain_log_path(const std::string& uri, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos) return std::nullopt;
  if (auto root = embed_root_of(uri)) return *root / "log" / "qemu" / (name + ".log");
  if (uri == "qemu:///system") return std::filesystem::path("/var/log/libvirt/qemu") / (name + ".log");
  return std::nullopt;
}

namespace {

// The text after `marker` on the last line that holds it, or "".
std::string last_after(std::string_view log, std::string_view marker) {
  const size_t at = log.rfind(marker);
  if (at == std::string_view::npos) return "";
  std::string_view rest = log.substr(at + marker.size());
  rest = rest.substr(0, rest.find('\n'));
  while (!rest.empty() && (rest.back() == '\r' || rest.back() == ' ')) rest.remove_suffix(1);
  return std::string(rest);
}

}  // namespace

std::string domain_end_from_log(std::string_view log) {
  const std::string reason = last_after(log, "shutting down, reason=");
  const std::string signal = last_after(log, "terminating on signal ");
  std::string out;
  if (!reason.empty()) out = "libvirt says reason=" + reason;
  if (!signal.empty()) out += (out.empty() ? "" : "; ") + std::string("QEMU said: terminating on signal ") + signal;
  return out;
}

bool domain_failed_from_log(std::string_view log) {
  const std::string reason = last_after(log, "shutting down, reason=");
  return reason == "crashed" || reason == "failed";
}

}  // namespace racerig::libvirt
