// The service's logic, independent of gRPC: submit (checked, idempotent,
// bounded), get, watch from a sequence number, list, cancel, the catalog
// and a finished job's artifacts. host/racerigd's adapter calls it and
// converts its errors to grpc::Status.
//
// Jobs belong to their submitter: a caller reaches only the jobs it
// submitted, unless it is an admin (caller.h). Another submitter's job is
// NOT_FOUND, exactly like an id that does not exist, so ids do not tell
// who else uses the service.
#pragma once

#include <filesystem>
#include <chrono>
#include <functional>
#include <string>

#include "proto/racerig_service.pb.h"
#include "rig/service/caller.h"
#include "rig/service/catalog.h"
#include "rig/service/limits.h"
#include "rig/service/status.h"
#include "rig/service/store.h"
#include "rig/service/worker_pool.h"

namespace racerig::service {

struct ServiceOptions {
  int max_queued = 64;
  int max_queued_per_submitter = 0;  // 0: only max_queued bounds a submitter
  // Where jobs' directories (jobs_dir/ID) and kept run logs (kept_logs_root/...)
  // live, for delete_job(); empty: nothing on disk is removed.
  std::filesystem::path jobs_dir, kept_logs_root;
  Limits limits;
  // The kernel cache keys a job needs (kernel_affinity.h), stored with it
  // at submit for the workers' affinity; unset: none.
  std::function<std::vector<std::string>(const pb::Job&)> kernel_needs;
};

class JobService {
 public:
  JobService(Store& store, WorkerPool& pool, const Catalog& catalog, ServiceOptions options)
      : store_(store), pool_(pool), catalog_(catalog), options_(std::move(options)) {}

  // Checks the request (INVALID_ARGUMENT naming the field), then queues it
  // for `submitter`, or returns the job an earlier submit by the same
  // submitter with the same request_id made (INVALID_ARGUMENT if that
  // request differed). RESOURCE_EXHAUSTED when max_queued jobs wait, or
  // max_queued_per_submitter of the submitter's; a
  // request of no kind is INVALID_ARGUMENT.
  ServiceResult<pb::Job> submit(const pb::SubmitRequest& request, const std::string& submitter);

  // The job with its report once finished, patch contents and the runs'
  // consoles left out (read_artifact has them): a reply within gRPC's 4 MiB.
  // NOT_FOUND for unknown jobs and for jobs `caller` may not see.
  ServiceResult<pb::Job> get(const std::string& id, const Caller& caller);
  // Sends the job's events after `after_seq` in order, then waits for new
  // ones (consoles left out, as get()), until the Finished event was sent, `send` returns false (the
  // client went away) or `gone()` says so. A job that has ended with
  // `after_seq` at or past its Finished event returns at once (true,
  // nothing sent). NOT_FOUND as get().
  ServiceResult<bool> watch(const std::string& id, const Caller& caller, int64_t after_seq,
                            const std::function<bool(const pb::JobEvent&)>& send, const std::function<bool()>& gone);
  // The jobs `caller` may see (an admin: everyone's), newest first, a page
  // at a time; INVALID_ARGUMENT for a bad page_size or page_token.
  ServiceResult<pb::ListJobsResponse> list(const pb::ListJobsRequest& request, const Caller& caller);
  // Cancels a queued job (it never runs) or a running one (it is stopped and
  // stored CANCELLED once its run stopped; the reply may still say RUNNING);
  // a finished one is returned unchanged. A cancel racing a worker's claim
  // is honoured either way (Store::cancel). NOT_FOUND as get(). An admin's
  // cancel of another's job is logged.
  ServiceResult<pb::Job> cancel(const std::string& id, const Caller& caller);
  ServiceResult<pb::ListScenariosResponse> scenarios();
  ServiceResult<pb::ListKernelsResponse> kernels();
  // The report as JSON (consoles left out) and (validate) JUnit XML.
  // NOT_FOUND as get(); FAILED_PRECONDITION until the job has ended with a
  // report.
  ServiceResult<pb::JobArtifacts> artifacts(const std::string& id, const Caller& caller);
  // The artifact `name` of a finished job (artifacts.h: "report.json" in
  // full, "runs/N/console", kept logs, ...). NOT_FOUND as get() and for a
  // name the job does not have (the message lists those it has);
  // FAILED_PRECONDITION until the job has ended with a report.
  ServiceResult<std::string> read_artifact(const std::string& id, const Caller& caller, const std::string& name);
  // Deletes an ended job: its record and events, its directory and the run
  // logs it kept. NOT_FOUND as get(); FAILED_PRECONDITION for a queued or
  // running job (cancel it first). An admin's delete of another's job is logged.
  ServiceResult<pb::DeleteJobResponse> delete_job(const std::string& id, const Caller& caller);
  // The workers' heartbeats (Store::workers): lost ones included; the jobs
  // each one runs only for an admin.
  ServiceResult<pb::ListWorkersResponse> workers(const Caller& caller);
  // Deletes every ended job that finished more than `keep` ago (racerigd
  // --keep-days); the number deleted.
  ServiceResult<int> expire(std::chrono::hours keep);

 private:
  ServiceResult<pb::Job> enqueue(pb::Job job);
  // The stored job if it exists and `caller` may see it; else NOT_FOUND,
  // the same answer for both.
  ServiceResult<pb::Job> find(const std::string& id, const Caller& caller);
  // Deletes the ended `job` and its files; FAILED_PRECONDITION if it has not ended.
  ServiceResult<pb::DeleteJobResponse> remove(const pb::Job& job);
  Store& store_;
  WorkerPool& pool_;
  const Catalog& catalog_;
  ServiceOptions options_;
};

}  // namespace racerig::service
