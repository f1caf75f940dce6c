// libvirt's log of a domain (QEMU's stderr and libvirt's own lines): where
// it is for a URI, and how the domain ended according to it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace racerig::libvirt {

// The log file of domain `name` on `uri`, for the URIs whose logs are on
// this host: the embedded driver's <root>/log/qemu/NAME.log and
// qemu:///system's /var/log/libvirt/qemu/NAME.log. nullopt for others.
std::optional<std::filesystem::path> domain_log_path(const std::string& uri, const std::string& name);

// How the domain ended, from its log: libvirt's last "shutting down,
// reason=R" and QEMU's last "terminating on signal N from pid P (...)",
// e.g. "libvirt says reason=crashed; QEMU said: terminating on signal 15
// from pid 2146 (racerig)". "" when the log says neither.
std::string domain_end_from_log(std::string_view log);

// Whether that log says the domain ended badly: libvirt's reason is
// "crashed" (QEMU killed or gone without a guest shutdown) or "failed".
bool domain_failed_from_log(std::string_view log);

}  // namespace racerig::libvirt
