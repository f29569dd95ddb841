// Server: one epara serving process. Owns the metrics registry, the backends, the model manager and
// the HTTP front end.
//
// Lifecycle: Create (loads the repository; fails on invalid descriptors unless skip_invalid) ->
// Start (binds) -> Stop (stops accepting connections, answers everything accepted, drains model
// queues). Nothing accepted is dropped.
#pragma once

#include <memory>
#include <string>

#include "api/http_server.h"
#include "api/server_context.h"
#include "backend/backend_registry.h"
#include "engine/model_manager.h"
#include "metrics/metrics_registry.h"

namespace epara::api {

struct ServerOptions {
  std::string models_dir;
  HttpServerOptions http;
  bool skip_invalid_models = false;  // serve the valid models when some descriptors are invalid
  DecodeLimits image_limits;
};

class Server {
 public:
  // Loads every model of options.models_dir with `backends` (which must outlive the server).
  static Status Create(const ServerOptions& options, backend::BackendRegistry* backends,
                       std::unique_ptr<Server>* out);
  ~Server();

  Status Start();
  int port() const { return http_.port(); }
  void Stop();

  engine::ModelManager& models() { return *models_; }
  metrics::Registry& metrics() { return registry_; }

 private:
  explicit Server(const ServerOptions& options);

  ServerOptions options_;
  metrics::Registry registry_;
  std::unique_ptr<engine::ModelManager> models_;
  ServerContext ctx_;
  HttpServer http_;
};

}  // namespace epara::api
