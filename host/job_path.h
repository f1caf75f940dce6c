// The one path of every job command (reproduce, validate, stress): run the
// job here, or with --server submit it to racerigd and follow it there. Either
// way the command gets the job's end (jobs::JobEnd) and prints it the same.
// A kind's command adds only its options, its checks and its printing.
#pragma once

#include <string>

#include "host/cli_util.h"
#include "host/client/submit.h"
#include "host/server_options.h"
#include "rig/jobs/job_env.h"
#include "rig/jobs/job_kind.h"

namespace racerig::host {

// Runs `request` (a `Kind`'s, jobs/job_kind.h) on this machine, or, when
// `server.server` is set, sends it (request id `request_id`, a fresh one when
// empty) to racerigd and follows it to its end; its events reach `observer`
// as a local job's do. Blocks for the whole job; Ctrl-C stops it (--server:
// cancels it on the server). A failure to submit or follow is a failed end.
template <typename Kind>
jobs::JobEnd<typename Kind::Report> run_job(const typename Kind::Request& request, const ServerArgs& server,
                                            const std::string& request_id, jobs::JobObserver& observer) {
  const jobs::JobEnv env = job_env();
  if (server.server.empty()) return Kind::run(env, request, observer, nullptr);
  auto wire = Kind::to_wire(request, request_id.empty() ? client::new_request_id() : request_id);
  if (!wire.ok()) return jobs::failed_end<Kind>(env, request, wire.error());
  pb::SubmitRequest submit;
  *Kind::mutable_wire(submit) = std::move(*wire);
  auto job = client::submit_and_follow(server.options(), submit, observer, progress_line);
  if (!job.ok()) return jobs::failed_end<Kind>(env, request, job.error());
  return jobs::end_of<Kind>(*job, env, request);
}

}  // namespace racerig::host
