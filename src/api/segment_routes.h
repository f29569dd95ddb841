// Plain segmentation endpoint:
//   POST /v1/segment/{model}[?format=png|json]   body: PNG or JPEG bytes
// png (default): the class mask at the input's size as a palette PNG (pixel value = class index),
// with X-Epara-* timing headers. json: size, per-class pixel counts and fractions, timings.
#pragma once

#include "api/http_server.h"
#include "api/server_context.h"

namespace epara::api {

void AddSegmentationRoutes(HttpServer* http, const ServerContext* ctx);

}  // namespace epara::api
