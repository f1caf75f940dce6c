// The one place where the service's errors become grpc::Status.
#pragma once

#include <grpcpp/grpcpp.h>

#include "rig/service/status.h"

namespace racerig::racerigd {

grpc::Status to_grpc(const service::ServiceError& error);

}  // namespace racerig::racerigd
