// The service's logic (see job_service.h).
#include "rig/service/job_service.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>

#include "rig/jobs/explore_job.h"
#include "rig/service/artifacts.h"
#include "rig/jobs/reproduce_job.h"
#include "rig/jobs/stress_job.h"
#include "rig/jobs/validate_job.h"
#include "rig/verdict/junit.h"

namespace racerig::service {

namespace {

// A store failure: a busy database is UNAVAILABLE (try again in a second),
// anything else INTERNAL.
ServiceError internal(const Error& e) {
  if (e.kind == ErrorKind::kTimeout) return retry_later(Code::kUnavailable, e.message, 1);
  return service_error(Code::kInternal, e.message);
}

// How long a client refused for a full queue should wait: about a short job.
constexpr int kRetryQueuedS = 60;

ServiceError not_found(const std::string& id) { return service_error(Code::kNotFound, "id: no job \"" + id + "\""); }

// Whether `caller` may see and cancel `job`.
bool may_access(const pb::Job& job, const Caller& caller) { return caller.admin || job.submitter() == caller.name; }

// The job as get() returns it: patch bodies are not echoed, and consoles
// (up to 2 MiB a run), or a report still too large, are read with ReadArtifact.
pb::Job without_patch_contents(pb::Job job) {
  if (job.has_validate())
    for (auto& p : *job.mutable_validate()->mutable_patches()) p.clear_content();
  strip_consoles(job);
  omit_large_report(job);
  return job;
}

// An event as watch() sends it: a Finished event's job as get() returns it,
// a run's console left out.
const pb::JobEvent& bounded(const pb::JobEvent& ev, pb::JobEvent& scratch) {
  if (ev.has_finished()) {
    scratch = ev;
    *scratch.mutable_finished()->mutable_job() = without_patch_contents(ev.finished().job());
    return scratch;
  }
  if (ev.has_run_finished() && !ev.run_finished().report().console().empty()) {
    scratch = ev;
    scratch.mutable_run_finished()->mutable_report()->clear_console();
    return scratch;
  }
  return ev;
}

// The request as stored, whatever its kind: what a repeated request_id is
// compared against.
std::string request_bytes(const pb::Job& job) {
  const google::protobuf::FieldDescriptor* field = pb::Job::descriptor()->FindFieldByNumber(job.request_case());
  if (field == nullptr) return {};
  return job.GetReflection()->GetMessage(job, field).SerializeAsString();
}

// The report, whatever the job's kind; null before there is one.
const google::protobuf::Message* report_of(const pb::Job& job) {
  const google::protobuf::FieldDescriptor* field = pb::Job::descriptor()->FindFieldByNumber(job.report_case());
  if (field == nullptr) return nullptr;
  return &job.GetReflection()->GetMessage(job, field);
}

// A new job of `Kind` for `submitter`, after the kind's checks.
template <typename Kind>
pb::Job new_job(const typename Kind::Wire& request, const std::string& submitter) {
  pb::Job job;
  job.set_kind(Kind::kKind);
  job.set_submitter(submitter);
  job.set_request_id(request.request_id());
  *Kind::mutable_wire(job) = request;
  return job;
}

}  // namespace

ServiceResult<pb::Job> JobService::enqueue(pb::Job job) {
  const std::string bytes = request_bytes(job);
  if (options_.kernel_needs)
    for (auto& key : options_.kernel_needs(job)) job.add_kernel_keys(std::move(key));
  auto inserted = store_.insert(job, options_.max_queued, options_.max_queued_per_submitter);
  if (!inserted.ok()) return internal(inserted.error());
  if (!*inserted) {
    // The store refused atomically; this only words why.
    const int quota = options_.max_queued_per_submitter;
    auto mine = store_.count(pb::QUEUED, job.submitter());
    if (quota > 0 && mine.ok() && *mine >= quota)
      return retry_later(Code::kResourceExhausted,
                         "\"" + job.submitter() + "\" has " + std::to_string(*mine) +
                             " jobs queued, the most one submitter may have (--max-queued-per-submitter); submit "
                             "again later",
                         kRetryQueuedS);
    return retry_later(Code::kResourceExhausted,
                       "the queue is full (" + std::to_string(options_.max_queued) +
                           " jobs wait; --max-queued); submit again later",
                       kRetryQueuedS);
  }
  if ((*inserted)->existed) {
    if (request_bytes((*inserted)->job) != bytes)
      return invalid_argument("request_id", "\"" + job.request_id() + "\" was used for a different request (job " +
                                                (*inserted)->job.id() + ")");
    return summary_of((*inserted)->job);
  }
  pool_.wake();
  return summary_of((*inserted)->job);
}

ServiceResult<pb::ListWorkersResponse> JobService::workers(const Caller& caller) {
  auto all = store_.workers();
  if (!all.ok()) return internal(all.error());
  pb::ListWorkersResponse out;
  for (auto& w : *all) {
    if (!caller.admin) w.clear_job_ids();  // ids would tell who else uses the service
    *out.add_workers() = std::move(w);
  }
  return out;
}

ServiceResult<pb::Job> JobService::submit(const pb::SubmitRequest& request, const std::string& submitter) {
  const Limits& limits = options_.limits;
  switch (request.request_case()) {
    case pb::SubmitRequest::kReproduce:
      if (auto e = check_reproduce(request.reproduce(), limits, catalog_)) return *e;
      return enqueue(new_job<jobs::ReproduceKind>(request.reproduce(), submitter));
    case pb::SubmitRequest::kValidate:
      if (auto e = check_validate(request.validate(), limits, catalog_)) return *e;
      return enqueue(new_job<jobs::ValidateKind>(request.validate(), submitter));
    case pb::SubmitRequest::kStress:
      if (auto e = check_stress(request.stress(), limits, catalog_)) return *e;
      return enqueue(new_job<jobs::StressKind>(request.stress(), submitter));
    case pb::SubmitRequest::kExplore:
      if (auto e = check_explore(request.explore(), limits, catalog_)) return *e;
      return enqueue(new_job<jobs::ExploreKind>(request.explore(), submitter));
    default:
      return invalid_argument("request", "no job kind set (reproduce, validate, stress, explore)");
  }
}

ServiceResult<pb::Job> JobService::find(const std::string& id, const Caller& caller) {
  auto job = store_.get(id);
  if (!job.ok()) return internal(job.error());
  if (!*job || !may_access(**job, caller)) return not_found(id);
  return std::move(**job);
}

ServiceResult<pb::Job> JobService::get(const std::string& id, const Caller& caller) {
  auto job = find(id, caller);
  if (!job.ok()) return job.error();
  return without_patch_contents(std::move(*job));
}

ServiceResult<bool> JobService::watch(const std::string& id, const Caller& caller, int64_t after_seq,
                                      const std::function<bool(const pb::JobEvent&)>& send,
                                      const std::function<bool()>& gone) {
  auto job = find(id, caller);
  if (!job.ok()) return job.error();
  if (after_seq < 0)
    return invalid_argument("after_seq", "negative (" + std::to_string(after_seq) + ")");
  int64_t seq = after_seq;
  while (!gone()) {
    const uint64_t seen = store_.generation();  // before looking: no change is missed
    // The job's attempt before its events: an event of an earlier attempt
    // is superseded (its runs were interrupted; the job ran again).
    auto head = store_.head(id);
    if (!head.ok()) return internal(head.error());
    if (!*head) return true;  // deleted meanwhile
    // A requeued job (QUEUED after a start) has ended its recorded attempt:
    // the live one is the next.
    const int live = (*head)->attempt + ((*head)->state == pb::QUEUED && (*head)->attempt > 0 ? 1 : 0);
    auto events = store_.events_after(id, seq, 100);
    if (!events.ok()) return internal(events.error());
    pb::JobEvent scratch;
    for (const auto& ev : *events) {
      const pb::JobEvent& out = bounded(ev, scratch);
      if (ev.attempt() < live) {
        pb::JobEvent labelled = out;
        labelled.set_superseded(true);
        if (!send(labelled)) return false;
      } else if (!send(out)) {
        return false;
      }
      seq = ev.seq();
      if (ev.has_finished()) return true;
    }
    if (!events->empty()) continue;
    // Nothing after `seq`: a job that has ended has sent its last event
    // (Finished is stored with the end, and nothing after it), so a watch
    // from at or past it is over.
    if (is_final((*head)->state) && seq >= (*head)->last_event_seq) return true;
    store_.wait_for_change(seen, std::chrono::milliseconds(1000));
  }
  return false;
}

ServiceResult<pb::ListJobsResponse> JobService::list(const pb::ListJobsRequest& request, const Caller& caller) {
  int size = request.page_size();
  if (size < 0 || size > 500)
    return invalid_argument("page_size", "must be from 0 to 500, got " + std::to_string(size));
  if (size == 0) size = 50;
  int64_t before = 0;
  if (!request.page_token().empty()) {
    const std::string& t = request.page_token();
    if (t.size() > 18 || t.find_first_not_of("0123456789") != std::string::npos)
      return invalid_argument("page_token", "\"" + t + "\" is not one this server gave");
    before = std::stoll(t);
  }
  std::vector<pb::JobState> states;
  for (int s : request.states()) states.push_back(static_cast<pb::JobState>(s));
  const std::optional<std::string> submitter = caller.admin ? std::nullopt : std::optional<std::string>(caller.name);
  auto jobs = store_.list(states, submitter, before, size + 1);
  if (!jobs.ok()) return internal(jobs.error());
  pb::ListJobsResponse out;
  for (int i = 0; i < static_cast<int>(jobs->size()) && i < size; ++i) *out.add_jobs() = (*jobs)[i];
  if (static_cast<int>(jobs->size()) > size) out.set_next_page_token(out.jobs(size - 1).id());
  return out;
}

ServiceResult<pb::Job> JobService::cancel(const std::string& id, const Caller& caller) {
  auto job = find(id, caller);
  if (!job.ok()) return job.error();
  if (is_final(job->state())) return get(id, caller);
  if (job->submitter() != caller.name)  // an admin's: the daemon's log says so too
    std::fprintf(stderr, "racerigd: job %s of \"%s\" cancelled by admin \"%s\"\n", id.c_str(), job->submitter().c_str(),
                 caller.name.c_str());
  // The store decides against the claim: a queued job ends now and is never
  // claimed; a claimed one is marked, and its worker, which reads the mark
  // after registering its token, stops it (or never starts it) and stores
  // CANCELLED once the run has stopped.
  auto done = store_.cancel(id, caller.name);
  if (!done.ok()) return internal(done.error());
  if (*done == Store::Cancelled::kRequested) pool_.cancel(id, caller.name);
  return get(id, caller);
}

ServiceResult<pb::ListScenariosResponse> JobService::scenarios() {
  auto r = catalog_.scenarios();
  if (!r.ok()) return internal(r.error());
  return *r;
}

ServiceResult<pb::ListKernelsResponse> JobService::kernels() {
  auto r = catalog_.kernels();
  if (!r.ok()) return internal(r.error());
  return *r;
}

ServiceResult<pb::JobArtifacts> JobService::artifacts(const std::string& id, const Caller& caller) {
  auto job = find(id, caller);
  if (!job.ok()) return job.error();
  strip_consoles(*job);  // report.json through ReadArtifact has them
  const pb::Job& j = *job;
  const google::protobuf::Message* report = report_of(j);
  if (!is_final(j.state()) || report == nullptr)
    return service_error(Code::kFailedPrecondition,
                         "job " + id + " has no report yet (state " + pb::JobState_Name(j.state()) + ")");
  pb::JobArtifacts out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*report, &json, opts).ok())
    return service_error(Code::kInternal, "job " + id + ": the report does not convert to JSON");
  if (json.size() > kMaxInlineReportBytes)
    return service_error(Code::kFailedPrecondition,
                         "job " + id + ": the report is " + std::to_string(json.size()) +
                             " bytes as JSON, more than one reply carries: read \"report.json\" with ReadArtifact "
                             "(racerig artifact " + id + " report.json)");
  out.set_json(json);
  if (j.has_validate_report()) out.set_junit_xml(verdict::junit_xml(j.validate_report()));
  return out;
}

ServiceResult<std::string> JobService::read_artifact(const std::string& id, const Caller& caller,
                                                    const std::string& name) {
  auto job = find(id, caller);
  if (!job.ok()) return job.error();
  if (!is_final(job->state()) || report_of(*job) == nullptr)
    return service_error(Code::kFailedPrecondition,
                         "job " + id + " has no report yet (state " + pb::JobState_Name(job->state()) + ")");
  return artifact_content(*job, name);
}

ServiceResult<pb::DeleteJobResponse> JobService::remove(const pb::Job& job) {
  auto removed = store_.remove(job.id());
  if (!removed.ok()) return internal(removed.error());
  if (!*removed)
    return service_error(Code::kFailedPrecondition, "job " + job.id() + " has not ended (state " +
                                                        pb::JobState_Name(job.state()) + "): cancel it first");
  std::error_code ec;
  if (!options_.jobs_dir.empty()) std::filesystem::remove_all(options_.jobs_dir / job.id(), ec);
  if (!options_.kept_logs_root.empty())
    for (const pb::RunReport* run : runs_of(job)) {
      // Only a directory right under the root (what the runs made), never elsewhere.
      const std::filesystem::path kept(run->kept_logs());
      if (!kept.empty() && kept.parent_path() == options_.kept_logs_root) std::filesystem::remove_all(kept, ec);
    }
  return pb::DeleteJobResponse();
}

ServiceResult<pb::DeleteJobResponse> JobService::delete_job(const std::string& id, const Caller& caller) {
  auto job = find(id, caller);
  if (!job.ok()) return job.error();
  if (!is_final(job->state()))
    return service_error(Code::kFailedPrecondition, "job " + id + " has not ended (state " +
                                                        pb::JobState_Name(job->state()) + "): cancel it first");
  if (job->submitter() != caller.name)
    std::fprintf(stderr, "racerigd: job %s of \"%s\" deleted by admin \"%s\"\n", id.c_str(), job->submitter().c_str(),
                 caller.name.c_str());
  return remove(*job);
}

ServiceResult<int> JobService::expire(std::chrono::hours keep) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t before = now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(keep).count();
  auto old = store_.ended_before(before);
  if (!old.ok()) return internal(old.error());
  int n = 0;
  for (const pb::Job& job : *old) {
    auto r = remove(job);
    if (!r.ok()) return r.error();
    ++n;
  }
  return n;
}

}  // namespace racerig::service
