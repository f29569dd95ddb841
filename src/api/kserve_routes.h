// KServe v2 / Open Inference Protocol over HTTP:
//   GET  /v2                              server metadata
//   GET  /v2/health/live, /v2/health/ready
//   GET  /v2/models/{m}[/versions/{v}]         model metadata
//   GET  /v2/models/{m}[/versions/{v}]/ready   200 when ready, 503 otherwise
//   POST /v2/models/{m}[/versions/{v}]/infer   JSON tensors
#pragma once

#include "api/http_server.h"
#include "api/server_context.h"

namespace epara::api {

void AddKServeRoutes(HttpServer* http, const ServerContext* ctx);

}  // namespace epara::api
