// Ctrl-C and SIGTERM as a cancellation request: a flag and a self-pipe that
// waits can poll, so every wait in a run ends promptly and the run unwinds
// through its destructors (QEMU stopped, sockets and temp dirs removed).
#pragma once

namespace racerig::process {

// Installs SIGINT/SIGTERM handlers (idempotent). A second signal after the
// first restores the default action, so a stuck program can still be killed.
void install_cancel_handlers();
bool cancelled();
// Readable once cancelled; -1 before install_cancel_handlers().
int cancel_fd();

}  // namespace racerig::process
