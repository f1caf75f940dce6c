// Following a job on racerigd: its events become the same observer calls a
// local job makes, so the CLI prints the same lines either way. A broken
// stream (daemon restarted, network) is resumed from the last sequence
// number seen; Ctrl-C asks the server to cancel the job and keeps following
// it to its end.
#pragma once

#include <functional>
#include <string>

#include "host/client/connection.h"
#include "rig/jobs/job_env.h"

namespace racerig::client {

// Lines about the job itself (queued, started, requeued), for stderr.
using StatusLine = std::function<void(const std::string&)>;

// Follows job `id` from after `after_seq` until it finishes; returns its
// final record, its full report (consoles included) read with ReadArtifact. Gives up with kTimeout when the server
// is unreachable for `reconnect_s` seconds in a row, and with kInput on
// NOT_FOUND / UNAUTHENTICATED.
Result<pb::Job> follow_job(Connection& connection, const std::string& id, int64_t after_seq,
                           jobs::JobObserver& observer, const StatusLine& status, double reconnect_s = 600);

// The event as one line of text (for `racerig watch`).
std::string event_line(const pb::JobEvent& event);

}  // namespace racerig::client
