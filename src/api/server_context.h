// What the route handlers share: the model manager and the metrics registry. Owned by Server.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/background_pool.h"

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
  BackgroundPool* request_cpu = nullptr;  // request CPU work; nullptr: run on the HTTP thread
  std::string server_name = "epara";
  std::string server_version;
};

// Finds a model by name: NotFound if unknown.
Status FindModel(const ServerContext& ctx, const std::string& name, engine::ServedModel** out);

// Runs a request's CPU-heavy step (image decode/encode, tensor (de)serialization) on
// ctx.request_cpu, below the models' threads (see core/background_pool.h), and returns its status.
// Runs it on the calling thread when no model work is pending (core/pending_compute.h). Never for
// waiting on a model: the pool is sized to the cores.
Status RunRequestWork(const ServerContext& ctx, const std::function<Status()>& work);

}  // namespace epara::api
