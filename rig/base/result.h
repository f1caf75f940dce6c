// Errors as values: Error carries a kind and a message that names what was
// wrong and where; Result<T> holds either a T or an Error.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace racerig {

enum class ErrorKind {
  kInput,     // bad user input: scenario, patch, argument, unknown symbol
  kTimeout,   // a deadline passed
  kProtocol,  // a peer (gdbstub, QMP, agent, client) said something unexpected
  kIo,        // a syscall or file operation failed
  kBuild,     // a kernel did not build or a patch did not apply
  kInternal,  // our own invariant broke
  kCancelled, // the user interrupted (Ctrl-C, SIGTERM)
};

const char* error_kind_name(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;

  // Prefixes context: Error{...}.wrap("loading scenario x") gives
  // "loading scenario x: <message>".
  Error wrap(const std::string& context) const {
    return Error{kind, context + ": " + message};
  }
};

inline Error make_error(ErrorKind kind, std::string message) {
  return Error{kind, std::move(message)};
}

// Builds an I/O error from errno: "<what>: <strerror(errno)>".
Error errno_error(const std::string& what);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

  // The value, or `fallback` when this holds an error.
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }
  T value_or(T fallback) && { return ok() ? std::move(*this).value() : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  static Status Ok() { return Status(); }

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace racerig

// Early return of an error from a Result/Status expression.
#define RACERIG_TRY(expr)                     \
  do {                                        \
    auto racerig_try_ = (expr);               \
    if (!racerig_try_.ok()) return racerig_try_.error(); \
  } while (0)

#define RACERIG_CONCAT_INNER(a, b) a##b
#define RACERIG_CONCAT(a, b) RACERIG_CONCAT_INNER(a, b)
// RACERIG_ASSIGN(auto x, f()); returns f()'s error, else binds its value.
#define RACERIG_ASSIGN(decl, expr) RACERIG_ASSIGN_IMPL(RACERIG_CONCAT(racerig_r_, __LINE__), decl, expr)
#define RACERIG_ASSIGN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                         \
  if (!tmp.ok()) return tmp.error();         \
  decl = std::move(tmp).value()
