// Submitting a job of any kind to racerigd and following it: what `racerig
// reproduce|validate|stress --server ...` does instead of running locally.
#pragma once

#include <string>

#include "host/client/connection.h"
#include "host/client/follow.h"

namespace racerig::client {

// A fresh random request id (for idempotent retries of one submit).
std::string new_request_id();

// Submits (retrying while the server is unreachable, with the same
// request id), prints "job ID" to stderr through `status`, and follows the
// job to its end. Refusals (INVALID_ARGUMENT, UNAUTHENTICATED) are kInput
// errors, others kIo; both carry the server's message.
Result<pb::Job> submit_and_follow(const ServerOptions& server, const pb::SubmitRequest& request,
                                  jobs::JobObserver& observer, const StatusLine& status);

}  // namespace racerig::client
