// Protocol-neutral outcomes. Every fallible operation in finsync returns a Status or a
// Result<T>; exceptions are reserved for programmer errors. The mapping of ErrorCode to an
// HTTP status and problem document lives in exactly one place: http/problem.cc.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace finsync {

enum class ErrorCode {
  kBadRequest,            // The request is malformed in a way not covered below.
  kMalformedJson,         // The body is not valid JSON.
  kUnauthenticated,       // Missing, unknown, revoked or expired credentials.
  kInsufficientScope,     // Valid credentials without the scope the route needs.
  kPlanLimitReached,      // A per-user limit (number of objects) is reached.
  kNotFound,              // No such object for this user, or no such route.
  kMethodNotAllowed,      // The route exists but not for this method.
  kRequestTimeout,        // The client was too slow to send its request.
  kConflict,              // The object's state does not allow the operation.
  kIdempotencyKeyInUse,   // The same Idempotency-Key is still being processed.
  kIdempotencyKeyReused,  // The Idempotency-Key was used before for a different request.
  kPayloadTooLarge,       // The body is over the configured limit.
  kUnsupportedMediaType,  // A body that is not application/json.
  kValidationFailed,      // The body or query parsed but holds invalid values.
  kTooManyRequests,       // A rate limit is exhausted.
  kInternal,              // A bug or an unexpected failure; details go to the log only.
  kUnavailable,           // A dependency (the store) is unreachable.
};

struct FieldError {
  std::string field;
  std::string message;
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string detail;
  std::vector<FieldError> field_errors;
  int64_t retry_after_seconds = 0;  // For kTooManyRequests: when to try again.

  static Error Of(ErrorCode code, std::string detail) { return Error{code, std::move(detail), {}}; }
};

// Status: success or one Error.
class Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design.
  static Status Ok() { return Status(); }

  bool ok() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

// Result<T>: a value or one Error.
template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design.
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design.

  bool ok() const { return state_.index() == 0; }
  T& value() {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const {
    assert(ok());
    return std::get<0>(state_);
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }
  Status status() const { return ok() ? Status::Ok() : Status(error()); }

 private:
  std::variant<T, Error> state_;
};

}  // namespace finsync
