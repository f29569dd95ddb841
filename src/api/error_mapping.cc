#include "api/error_mapping.h"

#include <nlohmann/json.hpp>

namespace epara::api {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kPayloadTooLarge:
      return 413;
    case StatusCode::kCancelled:
      return 499;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kInternal:
      return 500;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
  }
  return 500;
}

int GrpcCodeForHttpStatus(int http_status) {
  switch (http_status) {
    case 200:
      return 0;  // OK
    case 400:
      return 3;  // INVALID_ARGUMENT
    case 401:
      return 16;  // UNAUTHENTICATED
    case 403:
      return 7;  // PERMISSION_DENIED
    case 404:
      return 5;  // NOT_FOUND
    case 409:
      return 9;  // FAILED_PRECONDITION
    case 413:
    case 429:
      return 8;  // RESOURCE_EXHAUSTED
    case 499:
      return 1;  // CANCELLED
    case 501:
      return 12;  // UNIMPLEMENTED
    case 503:
      return 14;  // UNAVAILABLE
    case 504:
      return 4;  // DEADLINE_EXCEEDED
    default:
      return 13;  // INTERNAL
  }
}

std::string ErrorBody(int http_status, std::string_view type, std::string_view message) {
  nlohmann::json j = {{"error", {{"message", message}, {"type", type}, {"code", http_status}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void WriteError(const Status& status, HttpResponse* res) {
  res->status = HttpStatusFor(status.code());
  res->content_type = "application/json";
  res->stream = nullptr;
  res->body = ErrorBody(res->status, StatusCodeName(status.code()), status.message());
  if (status.code() == StatusCode::kResourceExhausted || status.code() == StatusCode::kUnavailable)
    res->headers.emplace_back("Retry-After", "1");
}

void WriteOpenAiError(const Status& status, HttpResponse* res) {
  WriteError(status, res);
  if (status.code() == StatusCode::kResourceExhausted) {
    res->status = 429;
    res->body = ErrorBody(429, StatusCodeName(status.code()), status.message());
  }
}

}  // namespace epara::api
