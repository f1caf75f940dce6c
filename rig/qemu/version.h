// Which QEMU runs: the one probe of `qemu --version`, used by --version,
// every report, and the ready-state snapshot key.
#pragma once

#include <string>

#include "rig/base/deadline.h"
#include "rig/base/result.h"

namespace racerig::qemu {

// The first line of `<qemu> --version` ("QEMU emulator version 7.2.x ...").
// Blocks until QEMU answers or `deadline` passes (then QEMU is stopped).
// Fails with the error of running it: not found, a non-zero exit, the
// deadline.
Result<std::string> qemu_version(const std::string& qemu, Deadline deadline);

}  // namespace racerig::qemu
