// Who owns a racerig domain: the owning racerig process (pid and its start
// time, so a recycled pid is not mistaken for the owner) and its host, kept
// in the domain's <metadata>. The sweeper destroys domains whose owner is
// gone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rig/base/result.h"

namespace racerig::libvirt {

// The XML namespace of racerig's metadata element.
inline constexpr char kOwnerNamespace[] = "urn:racerig:libvirt:owner:1";
inline constexpr char kOwnerPrefix[] = "racerig";
// Every domain racerig makes has a name starting with this.
inline constexpr char kDomainPrefix[] = "racerig-";

struct OwnerTag {
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // /proc/PID/stat field 22 (clock ticks since boot)
  std::string host;          // gethostname()
  std::string run_dir;       // the run's directory (removed with a swept domain); may be empty
  bool operator==(const OwnerTag&) const = default;
};

// This process's tag.
OwnerTag self_owner();

// The <racerig:owner .../> element (with its xmlns) for a domain's metadata.
std::string owner_element(const OwnerTag& tag);

// Parses what virDomainGetMetadata returns for kOwnerNamespace. kInput names
// the attribute that is missing or malformed.
Result<OwnerTag> parse_owner_element(std::string_view xml);

// Whether the owner still runs: same host and a live process with that pid
// and the same start time. A tag from another host counts as alive (this
// host cannot tell; that host's racerig sweeps it).
bool owner_alive(const OwnerTag& tag);

}  // namespace racerig::libvirt
