// libvirt's errors as racerig Errors: the last libvirt error of this thread,
// with the operation, the URI and the domain it was about.
#pragma once

#include <string>

#include "rig/base/result.h"

namespace racerig::libvirt {

// Stops libvirt from printing every error on stderr (racerig reports them
// itself). Idempotent; call before the first libvirt call.
void quiet_libvirt_errors();

// The thread's last libvirt error as an Error: "<what>: <libvirt's message>
// (libvirt error N)". The kind follows libvirt's code (bad XML or arguments:
// kInput; a timeout: kTimeout; everything else, QEMU failures included:
// kIo). Without a libvirt error it says so. Resets libvirt's last error.
Error last_error(const std::string& what);

// The ErrorKind for a libvirt error code (virErrorNumber).
ErrorKind kind_of_libvirt_code(int code);

}  // namespace racerig::libvirt
