// Why a request went where it went (issue 26: "explain every decision"): a pure record of one
// routing decision -- the candidates with the numbers the policy used (network, expected wait,
// service time and whether it was measured, requests outstanding, predicted completion) in the
// plan's order, and the outcome. Built from the same RoutePlan the request handler follows, so
// it cannot disagree with it; a node keeps the recent ones (node/decision_ring.h, GET
// /v1/decisions).
#pragma once

#include <string>
#include <vector>

#include "router/route_policy.h"

namespace epara::router {

struct RouteDecision {
  double at_ms = 0;  // wall clock, ms since the epoch (for display and ordering)
  std::string model;
  std::string mode;  // RouteModeName
  double slo_ms = 0;
  bool llm = false;
  struct Option {
    std::string node;
    bool local = false, ready = true, measured = false;
    double network_ms = 0, wait_ms = 0, service_ms = 0, predicted_ms = 0;
    int outstanding = 0;
  };
  // The plan's order (best first), then the candidates it left out (not ready).
  std::vector<Option> options;
  std::string outcome;  // "local", "forward" (to options[0]) or "rejected"
  std::string chosen;   // the node that the plan's first choice names; empty when rejected
  std::string reason;   // the plan's reason (why rejected, or why nothing could serve)
};

RouteDecision ExplainRoute(const std::string& model, const std::vector<RouteCandidate>& candidates,
                           const RoutePlan& plan, RouteMode mode, double slo_ms, bool llm,
                           double at_ms);

}  // namespace epara::router
