// The service's errors as values: a code with the meaning gRPC gives it, and
// a message naming the field or the job. The gRPC adapter turns them into
// grpc::Status in one place (host/racerigd/grpc_status.{h,cc}).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace racerig::service {

enum class Code {
  kInvalidArgument,     // a bad request: the message names the field
  kNotFound,            // no such job
  kResourceExhausted,   // the queue is full
  kUnauthenticated,     // no token or certificate, or an unknown token
  kPermissionDenied,    // a verified certificate whose name racerigd does not list
  kFailedPrecondition,  // e.g. artifacts of an unfinished job
  kUnavailable,         // the store is busy: try again
  kInternal,            // the store failed
};

struct ServiceError {
  Code code = Code::kInternal;
  std::string message;
  // kInvalidArgument: the request field at fault ("patches[1].content"),
  // sent as a google.rpc.BadRequest field violation; empty: none named.
  std::string field;
  // kResourceExhausted, kUnavailable: when to try again (a google.rpc.RetryInfo); 0: not said.
  int retry_after_s = 0;
};

inline ServiceError service_error(Code code, std::string message) { return ServiceError{code, std::move(message)}; }

// INVALID_ARGUMENT for `field`: the message is "FIELD: WHAT".
inline ServiceError invalid_argument(const std::string& field, const std::string& what) {
  return ServiceError{Code::kInvalidArgument, field + ": " + what, field};
}

// `code` (RESOURCE_EXHAUSTED, UNAVAILABLE) with a delay to try again after.
inline ServiceError retry_later(Code code, std::string message, int retry_after_s) {
  return ServiceError{code, std::move(message), {}, retry_after_s};
}

// A value or a ServiceError.
template <typename T>
class [[nodiscard]] ServiceResult {
 public:
  ServiceResult(T value) : v_(std::move(value)) {}               // NOLINT(google-explicit-constructor)
  ServiceResult(ServiceError error) : v_(std::move(error)) {}    // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const ServiceError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ServiceError> v_;
};

}  // namespace racerig::service
