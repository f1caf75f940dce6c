// ServiceError -> grpc::Status (see grpc_status.h).
#include "host/racerigd/grpc_status.h"

namespace racerig::racerigd {

grpc::Status to_grpc(const service::ServiceError& error) {
  using service::Code;
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (error.code) {
    case Code::kInvalidArgument: code = grpc::StatusCode::INVALID_ARGUMENT; break;
    case Code::kNotFound: code = grpc::StatusCode::NOT_FOUND; break;
    case Code::kResourceExhausted: code = grpc::StatusCode::RESOURCE_EXHAUSTED; break;
    case Code::kUnauthenticated: code = grpc::StatusCode::UNAUTHENTICATED; break;
    case Code::kFailedPrecondition: code = grpc::StatusCode::FAILED_PRECONDITION; break;
    case Code::kInternal: code = grpc::StatusCode::INTERNAL; break;
  }
  return grpc::Status(code, error.message);
}

}  // namespace racerig::racerigd
