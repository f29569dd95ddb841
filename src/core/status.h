// Status and Result: the one error type inside epara. Transport codes (HTTP, gRPC) are derived from
// StatusCode in exactly one place each (src/api/error_mapping.h). OK costs nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace epara {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // malformed input: bad JSON, wrong shape, undecodable image (HTTP 400)
  kNotFound,            // unknown model or route (404)
  kPayloadTooLarge,     // body over the configured limit (413)
  kResourceExhausted,   // a queue bound was hit; retry later (503 + Retry-After)
  kUnavailable,         // model not ready, server draining (503)
  kFailedPrecondition,  // state does not allow the operation (409)
  kDeadlineExceeded,    // (504)
  kCancelled,           // the client went away (499)
  kUnimplemented,       // (501)
  kInternal,            // a bug or a backend failure (500)
  kUnauthenticated,     // no credential, or one nobody issued (401)
  kPermissionDenied,    // a valid credential without the scope the operation needs (403)
};

// Short lower-case name used in JSON error bodies ("invalid_argument", ...).
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: message" (or "ok").
  std::string ToString() const;
  // Returns a copy with `prefix: ` prepended to the message.
  Status WithContext(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}

// A value or an error. Accessing value() of an error Result is a programming error (asserts).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace epara

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define EPARA_RETURN_IF_ERROR(expr) \
  do {                              \
    ::epara::Status _st = (expr);   \
    if (!_st.ok()) return _st;      \
  } while (0)
