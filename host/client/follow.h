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

// The event as one line of text (for `racerig watch`): "job ID #SEQ: ...",
// with " [attempt N]" after SEQ for attempts after the first and
// " [attempt N, superseded]" for an attempt the job ran again after.
std::string event_line(const pb::JobEvent& event);

// Run counts of a job's events, by attempt: what `racerig watch` sums up.
struct AttemptRuns {
  int last_attempt = 0;  // the highest attempt seen
  int last_runs = 0;     // RunFinished events of last_attempt
  int earlier_runs = 0;  // RunFinished events of earlier attempts (not results)
  // Counts `event` (events come in order: a later attempt moves the
  // earlier runs to earlier_runs).
  void add(const pb::JobEvent& event);
};

}  // namespace racerig::client
