// The one place where epara's StatusCode becomes an HTTP status and an error body.
// Body shape (OpenAI's, also used for KServe and segmentation routes):
//   {"error": {"message": "...", "type": "invalid_argument", "code": 400}}
#pragma once

#include "api/http_types.h"
#include "core/status.h"

namespace epara::api {

int HttpStatusFor(StatusCode code);
// Fills `res` with the status's HTTP code and JSON body; adds Retry-After for overload (503).
void WriteError(const Status& status, HttpResponse* res);
// The OpenAI routes' variant: a full waiting queue (ResourceExhausted) is 429 Too Many Requests
// with Retry-After, as OpenAI, TGI and llama.cpp's server answer overload; not ready or shutting
// down (Unavailable) stays 503.
void WriteOpenAiError(const Status& status, HttpResponse* res);
// The gRPC status code (grpc::StatusCode's value) for an HTTP error status, so that gRPC front ends
// (kserve_grpc/) report what the HTTP path decided: 400 INVALID_ARGUMENT, 401 UNAUTHENTICATED,
// 403 PERMISSION_DENIED, 404 NOT_FOUND, 409 FAILED_PRECONDITION, 413 and 429 RESOURCE_EXHAUSTED,
// 499 CANCELLED, 501 UNIMPLEMENTED, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED, anything else
// INTERNAL (200: OK).
int GrpcCodeForHttpStatus(int http_status);
// The JSON error body alone (for errors raised by the HTTP library itself).
std::string ErrorBody(int http_status, std::string_view type, std::string_view message);

}  // namespace epara::api
