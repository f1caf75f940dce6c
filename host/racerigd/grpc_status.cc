// ServiceError -> grpc::Status (see grpc_status.h).
#include "host/racerigd/grpc_status.h"

#include "proto/google/rpc/error_details.pb.h"
#include "proto/google/rpc/status.pb.h"

namespace racerig::racerigd {

grpc::Status to_grpc(const service::ServiceError& error) {
  using service::Code;
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (error.code) {
    case Code::kInvalidArgument: code = grpc::StatusCode::INVALID_ARGUMENT; break;
    case Code::kNotFound: code = grpc::StatusCode::NOT_FOUND; break;
    case Code::kResourceExhausted: code = grpc::StatusCode::RESOURCE_EXHAUSTED; break;
    case Code::kUnauthenticated: code = grpc::StatusCode::UNAUTHENTICATED; break;
    case Code::kPermissionDenied: code = grpc::StatusCode::PERMISSION_DENIED; break;
    case Code::kFailedPrecondition: code = grpc::StatusCode::FAILED_PRECONDITION; break;
    case Code::kUnavailable: code = grpc::StatusCode::UNAVAILABLE; break;
    case Code::kInternal: code = grpc::StatusCode::INTERNAL; break;
  }
  google::rpc::Status details;
  if (error.code == Code::kInvalidArgument && !error.field.empty()) {
    google::rpc::BadRequest bad;
    auto* v = bad.add_field_violations();
    v->set_field(error.field);
    // The message is "FIELD: WHAT"; the violation's description is WHAT.
    const std::string prefix = error.field + ": ";
    v->set_description(error.message.rfind(prefix, 0) == 0 ? error.message.substr(prefix.size()) : error.message);
    details.add_details()->PackFrom(bad);
  }
  if (error.retry_after_s > 0) {
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(error.retry_after_s);
    details.add_details()->PackFrom(retry);
  }
  if (details.details().empty()) return grpc::Status(code, error.message);
  details.set_code(static_cast<int>(code));
  details.set_message(error.message);
  return grpc::Status(code, error.message, details.SerializeAsString());
}

}  // namespace racerig::racerigd
