// What the route handlers share: the model manager and the metrics registry. Owned by Server.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "engine/model_manager.h"
#include "image/image_codec.h"
#include "llm/llm_engine.h"
#include "metrics/llm_metrics.h"
#include "metrics/metrics_registry.h"

namespace epara::api {

struct ServerContext {
  engine::ModelManager* models = nullptr;
  metrics::Registry* metrics = nullptr;
  std::map<std::string, std::unique_ptr<llm::LlmEngine>>* llms = nullptr;  // task llm, by name
  std::map<std::string, metrics::LlmMetrics>* llm_metrics = nullptr;       // same keys as llms
  DecodeLimits image_limits;
  std::string server_name = "epara";
  std::string server_version;
};

// Finds a model by name: NotFound if unknown.
Status FindModel(const ServerContext& ctx, const std::string& name, engine::ServedModel** out);

}  // namespace epara::api
