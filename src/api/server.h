// Server: one epara serving process. Owns the metrics registry, the backends, the model manager and
// the HTTP front end.
//
// Lifecycle: Create (loads the repository; fails on invalid descriptors unless skip_invalid) ->
// Start (binds) -> Stop (stops accepting connections, answers everything accepted, drains model
// queues). Nothing accepted is dropped.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "api/http_server.h"
#include "api/llm_registry.h"
#include "api/request_guard.h"
#include "api/server_context.h"
#include "backend/backend_registry.h"
#include "engine/model_manager.h"
#include "metrics/metrics_registry.h"

namespace epara::api {

struct ServerOptions {
  std::string models_dir;
  HttpServerOptions http;
  bool skip_invalid_models = false;      // serve the valid models when some descriptors are invalid
  std::vector<std::string> only_models;  // serve only these models of the repository (empty: all)
  std::vector<std::string> skip_models;  // and never these (e.g. a pipeline stage held here)
  // Batching that replaces a descriptor's (the allocator's plan, applied at start), by model.
  std::map<std::string, BatchingConfig> batching_overrides;
  // Tiles per segmentation request without ?split=N, by model (the plan's spatial split; needs a
  // node's run_split).
  std::map<std::string, int> split_defaults;
  int cpu_threads = 0;  // CPU threads all instances together may use (a node's share); 0: all cores
  double cpu_quota = 1.0;  // < 1: emulate a slower device (backend/throttled_instance.h)
  DecodeLimits image_limits;
  // Request CPU work (decode, encode, JSON tensors) in SCHED_IDLE so it never takes a core from a
  // model's intra-op team (core/background_pool.h). false: normal priority.
  bool request_work_idle_class = true;
  // Builds the engine of a `task: llm` model (injected so this layer stays free of LibTorch).
  // Without it, LLM models are skipped with a warning.
  std::function<Status(const ModelDescriptor&, std::unique_ptr<llm::LlmEngine>*)> llm_loader;
  // Loads the weights of a `task: llm` model alone, honouring d.llm.first_layer / end_layer (the
  // later stages of a pipeline, which run no engine). Injected like llm_loader; used by nodes.
  std::function<Status(const ModelDescriptor&, std::unique_ptr<llm::LlamaModel>*)> llm_stage_loader;
  // API keys, the cluster credential and what stays open (api/request_guard.h). Default: nothing
  // configured, every route open (loopback development).
  GuardOptions guard;
};

class Server {
 public:
  // Loads every model of options.models_dir with `backends` (which must outlive the server).
  static Status Create(const ServerOptions& options, backend::BackendRegistry* backends,
                       std::unique_ptr<Server>* out);
  ~Server();

  // Installs the distributed request handler (ServerContext::route). REQUIRES: before Start().
  void SetRouter(decltype(ServerContext::route) route) { ctx_.route = std::move(route); }
  // Installs ServerContext::run_split. REQUIRES: before Start().
  void SetSplitRunner(decltype(ServerContext::run_split) fn) { ctx_.run_split = std::move(fn); }
  // Installs ServerContext::split_default (replaces ServerOptions::split_defaults). REQUIRES:
  // before Start().
  void SetSplitDefault(decltype(ServerContext::split_default) fn) {
    ctx_.split_default = std::move(fn);
  }
  // Installs ServerContext::remote_models. REQUIRES: before Start().
  void SetRemoteModels(decltype(ServerContext::remote_models) fn) {
    ctx_.remote_models = std::move(fn);
  }
  // Installs HttpServer's observer (called after each HTTP request's handler). REQUIRES: before
  // Start().
  void SetObserver(HttpServer::Observer observer) { http_.SetObserver(std::move(observer)); }
  // The HTTP guard's decision for `request` (true: proceed; false: the refusal is in `response`).
  // True when nothing is configured.
  bool Authorize(const HttpRequest& request, HttpResponse* response) const {
    return guard_->Admit(request, response);
  }
  // Runs a request that a peer forwarded here through the HTTP routes, on the calling thread.
  void Dispatch(HttpRequest request, HttpResponse* response) const {
    http_.Dispatch(std::move(request), response);
  }

  Status Start();
  int port() const { return http_.port(); }
  void Stop();

  engine::ModelManager& models() { return *models_; }
  // Loads `name` from the repository at run time, with the same overrides as at start (warm-up
  // included; ready when this returns OK). LLMs go through options.llm_loader (FailedPrecondition
  // without one) into llms(). NotFound when absent.
  Status LoadModel(const std::string& name);
  // The LLM engines, changeable at run time (api/llm_registry.h: Drain, then Remove).
  LlmRegistry& llms() { return *llms_; }
  const LlmRegistry& llms() const { return *llms_; }
  // A served LLM's time-to-first-token SLO from its descriptor (ms; 0: none or not an LLM here).
  double LlmTtftSloMs(const std::string& name) const {
    auto i = llms_->Get(name);
    return i ? i->ttft_slo_ms : 0;
  }
  // A served LLM's time-per-output-token SLO (ms; 0: none or not an LLM here).
  double LlmTpotSloMs(const std::string& name) const {
    auto i = llms_->Get(name);
    return i ? i->tpot_slo_ms : 0;
  }
  // Adds a route next to the API's (REQUIRES: before Start()).
  void Route(const std::string& method, const std::string& path_regex, HttpHandler handler) {
    http_.Route(method, path_regex, std::move(handler));
  }
  // Models skipped at load (no loader for their task), with the reason.
  const std::vector<std::string>& skipped() const { return skipped_; }
  metrics::Registry& metrics() { return registry_; }
  // Whether request work runs in SCHED_IDLE (false when not asked for or refused by the kernel).
  bool request_work_idle_class() const { return request_cpu_->idle_class(); }

 private:
  explicit Server(const ServerOptions& options);
  // Applies the options' batching override and CPU share to a descriptor.
  void Adapt(ModelDescriptor* d) const;
  // Builds an LLM engine with options_.llm_loader and adds it to llms_.
  Status LoadLlm(const ModelDescriptor& d);

  ServerOptions options_;
  metrics::Registry registry_;
  std::unique_ptr<engine::ModelManager> models_;
  std::unique_ptr<LlmRegistry> llms_;  // outlives http_ (declared before it)
  std::vector<std::string> skipped_;
  std::unique_ptr<BackgroundPool> request_cpu_;  // outlives http_ (declared before it)
  std::unique_ptr<RequestGuard> guard_;          // likewise
  ServerContext ctx_;
  HttpServer http_;
};

}  // namespace epara::api
