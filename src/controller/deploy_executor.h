// Carries out a deployment plan (scheduler/deployment.h) on live nodes over their HTTP API
// (node/instance_lifecycle.cc): each load, then a wait (bounded) until every node routes to the
// new instance; each unload with the given grace period. Used by `epara deploy` and the
// controller.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "controller/llm_modes.h"
#include "core/status.h"
#include "scheduler/deployment.h"

namespace epara::controller {

struct ExecuteOptions {
  int grace_ms = -1;  // -1: each node's default
  std::chrono::seconds visible_timeout{30};
  std::function<void(const std::string&)> log;  // one line per step done (optional)
  std::string credential;  // the cluster credential the nodes ask for (empty: none)
};

// `api`: node id -> "host:port" of every live node. Stops at the first failing step.
Status ExecuteDeployment(const std::vector<scheduler::DeployStep>& steps,
                         const std::map<std::string, std::string>& api,
                         const ExecuteOptions& options);

// The LLM mode steps (controller/llm_modes.h) on the nodes' run-time routes
// (/v1/internal/instances/... and /v1/internal/pipelines/...): after a whole instance or a head
// loads, a wait (bounded) until every node routes to it, as above; unloads drain. Stops at the
// first failing step.
Status ExecuteLlmModeSteps(const std::vector<LlmModeStep>& steps,
                           const std::map<std::string, std::string>& api,
                           const ExecuteOptions& options);

// GET /v1/cluster of the node at `address` (presenting `credential` when not empty), as JSON
// text in `out`; Unavailable when no node answers, Unauthenticated/PermissionDenied when it
// refuses the credential.
Status FetchClusterView(const std::string& address, std::string* out,
                        const std::string& credential = "");

}  // namespace epara::controller
