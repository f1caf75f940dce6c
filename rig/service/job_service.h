// The service's logic, independent of gRPC: submit (checked, idempotent,
// bounded), get, watch from a sequence number, list, cancel, the catalog
// and a finished job's artifacts. host/racerigd's adapter calls it and
// converts its errors to grpc::Status.
#pragma once

#include <functional>
#include <string>

#include "proto/racerig_service.pb.h"
#include "rig/service/catalog.h"
#include "rig/service/limits.h"
#include "rig/service/status.h"
#include "rig/service/store.h"
#include "rig/service/worker_pool.h"

namespace racerig::service {

struct ServiceOptions {
  int max_queued = 64;
  Limits limits;
};

class JobService {
 public:
  JobService(Store& store, WorkerPool& pool, const Catalog& catalog, ServiceOptions options)
      : store_(store), pool_(pool), catalog_(catalog), options_(std::move(options)) {}

  // Checks the request (INVALID_ARGUMENT naming the field), then queues it
  // for `submitter`, or returns the job an earlier submit with the same
  // request_id made (INVALID_ARGUMENT if that request differed).
  // RESOURCE_EXHAUSTED when max_queued jobs wait.
  ServiceResult<pb::Job> submit_reproduce(const pb::SubmitReproduceRequest& request, const std::string& submitter);
  ServiceResult<pb::Job> submit_validate(const pb::SubmitValidateRequest& request, const std::string& submitter);

  ServiceResult<pb::Job> get(const std::string& id);
  // Sends the job's events after `after_seq` in order, then waits for new
  // ones, until the Finished event was sent, `send` returns false (the
  // client went away) or `gone()` says so. NOT_FOUND for unknown jobs.
  ServiceResult<bool> watch(const std::string& id, int64_t after_seq,
                            const std::function<bool(const pb::JobEvent&)>& send, const std::function<bool()>& gone);
  ServiceResult<pb::ListJobsResponse> list(const pb::ListJobsRequest& request);
  ServiceResult<pb::Job> cancel(const std::string& id);
  ServiceResult<pb::ListScenariosResponse> scenarios();
  ServiceResult<pb::ListKernelsResponse> kernels();
  // FAILED_PRECONDITION until the job has ended with a report.
  ServiceResult<pb::JobArtifacts> artifacts(const std::string& id);

 private:
  ServiceResult<pb::Job> enqueue(pb::Job job, const std::string& request_bytes);
  Store& store_;
  WorkerPool& pool_;
  const Catalog& catalog_;
  ServiceOptions options_;
};

}  // namespace racerig::service
