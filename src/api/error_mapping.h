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
// The JSON error body alone (for errors raised by the HTTP library itself).
std::string ErrorBody(int http_status, std::string_view type, std::string_view message);

}  // namespace epara::api
