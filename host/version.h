// What racerig is and what it runs: its own version (baked in at build time)
// and the QEMU it starts, for --version and for every report.
#pragma once

#include <string>

namespace racerig::host {

// racerig's version: `git describe` of the checkout it was built from (with
// "-dirty" for uncommitted changes), or the release number when built
// outside git.
const char* racerig_version();

// The first line of `<qemu> --version` ("QEMU emulator version 7.2.x ..."),
// or "unknown (<why>)" when it cannot be run within 10 s. Never fails.
std::string qemu_version(const std::string& qemu);

}  // namespace racerig::host
