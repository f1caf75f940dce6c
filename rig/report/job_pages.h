// racerigd's pages of jobs, from what its RPCs return (pb::Job,
// pb::ListJobsResponse's jobs, pb::JobEvent): the job list with its
// filters, and a job's page (its record, the report page's body once it
// ended, its runs so far and its events while it runs, its artifacts).
// Links are absolute paths on racerigd's HTTP face: /jobs, /jobs/ID,
// /jobs/ID/artifacts/NAME.
#pragma once

#include <string>
#include <vector>

#include "proto/racerig_service.pb.h"
#include "rig/report/source.h"

namespace racerig::report {

// What the job list shows: empty fields match every job. `state` and
// `kind` are enum names (RUNNING, VALIDATE); `submitter` a token's name.
struct JobFilter {
  std::string state, kind, submitter;
};

// Whether `job` passes `filter`.
bool job_matches(const pb::Job& job, const JobFilter& filter);

// `text` percent-encoded for a URL's path segment or query value (every
// byte but A-Z a-z 0-9 - _ . ~).
std::string url_encode(const std::string& text);

// The list page: a GET form with the three filters (the values shown as
// chosen), a table of `jobs` (id linked, kind, state, submitter, submitted,
// exit code, error), and `note` (e.g. that the list was cut) when given.
// `viewer` names who looks ("alice (admin)").
std::string job_list_page(const std::vector<pb::Job>& jobs, const JobFilter& filter, const std::string& viewer,
                          const std::string& note = {});

// A job's page. `job` is GetJob's record; `full` the report with consoles
// (ReadArtifact's report.json) when the job ended with one, else null;
// `events` the job's events so far (WatchJob's); `artifacts` the names
// the job has. A job that has not ended refreshes every `refresh_s`
// seconds and shows each finished run (its timeline and oops) and its last
// events. `control` and `patched` are where kernel source is read.
std::string job_page(const pb::Job& job, const pb::Job* full, const std::vector<pb::JobEvent>& events,
                     const std::vector<std::string>& artifacts, const SourceTree& control, const SourceTree& patched,
                     int refresh_s = 3);

// One event as a line of text ("run 2 (buggy (control)): REPRODUCED — ...").
std::string event_text(const pb::JobEvent& event);

}  // namespace racerig::report
