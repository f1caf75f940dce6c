// Submitting reproduce/validate to racerigd and following the job: what
// `racerig reproduce|validate --server ...` does instead of running locally.
#pragma once

#include <string>
#include <vector>

#include "host/client/connection.h"
#include "host/client/follow.h"

namespace racerig::client {

// A fresh random request id (for idempotent retries of one submit).
std::string new_request_id();

// Reads patch files into the request (name = the file's name). Unreadable
// files are kInput errors naming them.
Status add_patch_files(const std::vector<std::string>& paths, pb::SubmitValidateRequest& request);
// A scenario argument as the server takes it: an existing file goes inline
// (its text), anything else is a name ("all" is no scenario: every one).
Result<pb::ScenarioRef> scenario_ref(const std::string& arg);

// Submits (retrying while the server is unreachable, with the same
// request id), prints "job ID" to stderr through `status`, and follows the
// job to its end. Refusals (INVALID_ARGUMENT, UNAUTHENTICATED) are kInput
// errors, others kIo; both carry the server's message.
Result<pb::Job> submit_and_follow(const ServerOptions& server, const pb::SubmitReproduceRequest& request,
                                  jobs::JobObserver& observer, const StatusLine& status);
Result<pb::Job> submit_and_follow(const ServerOptions& server, const pb::SubmitValidateRequest& request,
                                  jobs::JobObserver& observer, const StatusLine& status);

}  // namespace racerig::client
