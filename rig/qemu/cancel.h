// Cancellation lives in rig/process (it stops child processes too); these
// names keep the run code's vm:: spelling working.
#pragma once

#include "rig/process/cancel.h"

namespace racerig::vm {

using process::cancel_fd;
using process::cancelled;
using process::CancelToken;
using process::current_token;
using process::install_cancel_handlers;
using process::ScopedCancel;

}  // namespace racerig::vm
