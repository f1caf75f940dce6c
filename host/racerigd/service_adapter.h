// The gRPC face of racerig::service::JobService: a thin final adapter that
// authenticates each call, calls the core, and converts its result.
#pragma once

#include <optional>

#include "proto/racerig_service.grpc.pb.h"
#include "rig/service/authenticator.h"
#include "rig/service/job_service.h"

namespace racerig::racerigd {

class RaceRigService final : public pb::RaceRig::Service {
 public:
  // `auth` decides who each call is (see rig/service/authenticator.h); with
  // neither tokens nor identities every caller is "local" and an admin.
  RaceRigService(service::JobService& core, service::Authenticator auth) : core_(core), auth_(auth) {}

  grpc::Status SubmitReproduce(grpc::ServerContext* ctx, const pb::SubmitReproduceRequest* req, pb::Job* out) override;
  grpc::Status SubmitValidate(grpc::ServerContext* ctx, const pb::SubmitValidateRequest* req, pb::Job* out) override;
  grpc::Status Submit(grpc::ServerContext* ctx, const pb::SubmitRequest* req, pb::Job* out) override;
  grpc::Status GetJob(grpc::ServerContext* ctx, const pb::GetJobRequest* req, pb::Job* out) override;
  grpc::Status WatchJob(grpc::ServerContext* ctx, const pb::WatchJobRequest* req,
                        grpc::ServerWriter<pb::JobEvent>* writer) override;
  grpc::Status ListJobs(grpc::ServerContext* ctx, const pb::ListJobsRequest* req, pb::ListJobsResponse* out) override;
  grpc::Status CancelJob(grpc::ServerContext* ctx, const pb::CancelJobRequest* req, pb::Job* out) override;
  grpc::Status ListScenarios(grpc::ServerContext* ctx, const pb::ListScenariosRequest* req,
                             pb::ListScenariosResponse* out) override;
  grpc::Status ListKernels(grpc::ServerContext* ctx, const pb::ListKernelsRequest* req,
                           pb::ListKernelsResponse* out) override;
  grpc::Status GetJobArtifacts(grpc::ServerContext* ctx, const pb::GetJobArtifactsRequest* req,
                               pb::JobArtifacts* out) override;
  grpc::Status ReadArtifact(grpc::ServerContext* ctx, const pb::ReadArtifactRequest* req,
                            grpc::ServerWriter<pb::ArtifactChunk>* writer) override;
  grpc::Status DeleteJob(grpc::ServerContext* ctx, const pb::DeleteJobRequest* req,
                         pb::DeleteJobResponse* out) override;
  grpc::Status ListWorkers(grpc::ServerContext* ctx, const pb::ListWorkersRequest* req,
                           pb::ListWorkersResponse* out) override;

 private:
  // Who calls (from its verified client certificate or its bearer token),
  // or UNAUTHENTICATED / PERMISSION_DENIED.
  service::ServiceResult<service::Caller> caller(grpc::ServerContext* ctx) const;

  service::JobService& core_;
  service::Authenticator auth_;
};

}  // namespace racerig::racerigd
