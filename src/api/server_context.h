// What the route handlers share: the model manager and the metrics registry. Owned by Server.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http_types.h"
#include "api/llm_registry.h"
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
  LlmRegistry* llms = nullptr;  // task llm, by name (changes at run time)
  DecodeLimits image_limits;
  // Tiles when a request names no ?split (0 or 1: whole); set by a node agent, whose table may
  // change at run time (POST /v1/internal/split/{model}). Empty: every request whole.
  std::function<int(const std::string& model)> split_default;
  BackgroundPool* request_cpu = nullptr;  // request CPU work; nullptr: run on the HTTP thread
  std::string server_name = "epara";
  std::string server_version;
  // The distributed request handler (set by a node agent; empty in `epara serve`). Called with the
  // model a request names before it runs here; returns true when the request was finished
  // elsewhere (response filled) or refused (*error set; the route writes it in its API's shape),
  // false to run it here.
  std::function<bool(const std::string& model, const HttpRequest&, HttpResponse*, Status* error)>
      route;
  // Intra-request spatial parallelism (node mode; empty in `epara serve`): runs a segmentation
  // input [1, C, H, W] as `tiles` tiles on the cluster's instances of `model` and stitches their
  // logits into *logits ([1, K, H, W]).
  // `planned`: the node's own split degree (not a client's ?split=N), which the node may lower to
  // the fewest tiles that meet the SLO (router/split_plan.h); `elapsed_ms`: the request's time so
  // far (its decode and preprocessing).
  std::function<Status(const std::string& model, const Tensor& input, int tiles, bool planned,
                       double elapsed_ms, Tensor* logits)>
      run_split;
  // Models that only peers host (node mode; empty in `epara serve`), for the model lists.
  std::function<std::vector<std::string>()> remote_models;
};

// The header that marks a request forwarded by a peer: it always runs where it arrives.
inline constexpr const char* kForwardedHeader = "X-Epara-Forwarded-By";

// A request's class for SLO-aware batching: the service's SLO (descriptor), overridden by the
// `X-Epara-SLO-Ms` header; latency-sensitive when `X-Epara-Priority: latency`.
engine::RequestPriority PriorityOf(const HttpRequest& req, const ModelDescriptor& d);

// ctx.route for requests that did not come from a peer; false when there is no router.
bool RoutedElsewhere(const ServerContext& ctx, const std::string& model, const HttpRequest& req,
                     HttpResponse* res, Status* error);
// RoutedElsewhere, writing a refusal as epara's JSON error: true when the response is final.
bool AnsweredElsewhere(const ServerContext& ctx, const std::string& model, const HttpRequest& req,
                       HttpResponse* res);

// Finds a model by name: NotFound if unknown. With `use`, holds the model in use until the
// optional is reset or destroyed (a runtime unload waits for it: engine::ModelUse).
Status FindModel(const ServerContext& ctx, const std::string& name, engine::ServedModel** out,
                 std::optional<engine::ModelUse>* use = nullptr);

// Runs a request's CPU-heavy step (image decode/encode, tensor (de)serialization) on
// ctx.request_cpu, below the models' threads (see core/background_pool.h), and returns its status.
// Runs it on the calling thread when no model work is pending (core/pending_compute.h). Never for
// waiting on a model: the pool is sized to the cores.
Status RunRequestWork(const ServerContext& ctx, const std::function<Status()>& work);

}  // namespace epara::api
