// The gRPC adapter (see service_adapter.h).
#include "host/racerigd/service_adapter.h"

#include <algorithm>

#include <grpc/grpc_security_constants.h>

#include "host/racerigd/grpc_status.h"
#include "rig/service/artifacts.h"

namespace racerig::racerigd {

namespace {

// Copies a core result into the reply, or converts its error.
template <typename T>
grpc::Status reply(service::ServiceResult<T> result, T* out) {
  if (!result.ok()) return to_grpc(result.error());
  *out = std::move(*result);
  return grpc::Status::OK;
}

}  // namespace

service::ServiceResult<service::Caller> RaceRigService::caller(grpc::ServerContext* ctx) const {
  service::Presented call;
  call.unix_socket = ctx->peer().rfind("unix:", 0) == 0;
  const auto& md = ctx->client_metadata();
  if (auto it = md.find("authorization"); it != md.end())
    call.authorization = std::string(it->second.data(), it->second.size());
  // A client certificate is in the auth context only when the TLS listener
  // asked for one (--tls-client-ca) and it verified against that CA: a
  // certificate that does not verify fails the handshake.
  if (std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
      auth && !auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME).empty()) {
    const auto cn = auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
    call.certificate_cn = cn.empty() ? std::string() : std::string(cn.front().data(), cn.front().size());
  }
  return auth_.authenticate(call);
}

#define RACERIGD_AUTH(ctx, name) \
  auto name = caller(ctx);       \
  if (!name.ok()) return to_grpc(name.error())

grpc::Status RaceRigService::SubmitReproduce(grpc::ServerContext* ctx, const pb::SubmitReproduceRequest* req,
                                             pb::Job* out) {
  RACERIGD_AUTH(ctx, who);
  pb::SubmitRequest submit;
  *submit.mutable_reproduce() = *req;
  return reply(core_.submit(submit, who->name), out);
}

grpc::Status RaceRigService::SubmitValidate(grpc::ServerContext* ctx, const pb::SubmitValidateRequest* req,
                                            pb::Job* out) {
  RACERIGD_AUTH(ctx, who);
  pb::SubmitRequest submit;
  *submit.mutable_validate() = *req;
  return reply(core_.submit(submit, who->name), out);
}

grpc::Status RaceRigService::Submit(grpc::ServerContext* ctx, const pb::SubmitRequest* req, pb::Job* out) {
  RACERIGD_AUTH(ctx, who);
  return reply(core_.submit(*req, who->name), out);
}

grpc::Status RaceRigService::GetJob(grpc::ServerContext* ctx, const pb::GetJobRequest* req, pb::Job* out) {
  RACERIGD_AUTH(ctx, who);
  return reply(core_.get(req->id(), *who), out);
}

grpc::Status RaceRigService::WatchJob(grpc::ServerContext* ctx, const pb::WatchJobRequest* req,
                                      grpc::ServerWriter<pb::JobEvent>* writer) {
  RACERIGD_AUTH(ctx, who);
  auto r = core_.watch(
      req->id(), *who, req->after_seq(), [&](const pb::JobEvent& ev) { return writer->Write(ev); },
      [&] { return ctx->IsCancelled(); });
  if (!r.ok()) return to_grpc(r.error());
  if (!*r) return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  return grpc::Status::OK;
}

grpc::Status RaceRigService::ListJobs(grpc::ServerContext* ctx, const pb::ListJobsRequest* req,
                                      pb::ListJobsResponse* out) {
  RACERIGD_AUTH(ctx, who);
  return reply(core_.list(*req, *who), out);
}

grpc::Status RaceRigService::CancelJob(grpc::ServerContext* ctx, const pb::CancelJobRequest* req, pb::Job* out) {
  RACERIGD_AUTH(ctx, who);
  return reply(core_.cancel(req->id(), *who), out);
}

grpc::Status RaceRigService::ListScenarios(grpc::ServerContext* ctx, const pb::ListScenariosRequest*,
                                           pb::ListScenariosResponse* out) {
  RACERIGD_AUTH(ctx, who);
  return reply(core_.scenarios(), out);
}

grpc::Status RaceRigService::ListKernels(grpc::ServerContext* ctx, const pb::ListKernelsRequest*,
                                         pb::ListKernelsResponse* out) {
  RACERIGD_AUTH(ctx, who);
  return reply(core_.kernels(), out);
}

grpc::Status RaceRigService::GetJobArtifacts(grpc::ServerContext* ctx, const pb::GetJobArtifactsRequest* req,
                                             pb::JobArtifacts* out) {
  RACERIGD_AUTH(ctx, who);
  return reply(core_.artifacts(req->id(), *who), out);
}

grpc::Status RaceRigService::ReadArtifact(grpc::ServerContext* ctx, const pb::ReadArtifactRequest* req,
                                          grpc::ServerWriter<pb::ArtifactChunk>* writer) {
  RACERIGD_AUTH(ctx, who);
  auto content = core_.read_artifact(req->id(), *who, req->name());
  if (!content.ok()) return to_grpc(content.error());
  const std::string& text = *content;
  size_t offset = 0;
  do {  // an empty artifact is one empty chunk
    const size_t n = std::min(service::kArtifactChunkBytes, text.size() - offset);
    pb::ArtifactChunk chunk;
    chunk.set_offset(static_cast<int64_t>(offset));
    chunk.set_data(text.substr(offset, n));
    chunk.set_total_size(static_cast<int64_t>(text.size()));
    if (!writer->Write(chunk)) return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    offset += n;
  } while (offset < text.size());
  return grpc::Status::OK;
}

grpc::Status RaceRigService::DeleteJob(grpc::ServerContext* ctx, const pb::DeleteJobRequest* req,
                                       pb::DeleteJobResponse* out) {
  RACERIGD_AUTH(ctx, who);
  return reply(core_.delete_job(req->id(), *who), out);
}

grpc::Status RaceRigService::ListWorkers(grpc::ServerContext* ctx, const pb::ListWorkersRequest* /*req*/,
                                         pb::ListWorkersResponse* out) {
  RACERIGD_AUTH(ctx, who);
  return reply(core_.workers(*who), out);
}

}  // namespace racerig::racerigd
