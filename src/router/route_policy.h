// The distributed request handler's decision for one request (DESIGN: per-request time scale), as a
// pure function over a snapshot of candidates so a simulator can reuse it.
//
// Predicted completion of a candidate = network estimate + expected wait + service time. The plan
// orders candidates by predicted completion (earliest first; ties: local first, then node id), so
// the first is "the earliest that meets the SLO" whenever any does, and the rest are the retry
// order. With admission kRejectEarly a request that no candidate can finish within its SLO is
// rejected up front (HTTP 503 with the reason); kBestEffort sends it to the earliest anyway.
#pragma once

#include <string>
#include <vector>

namespace epara::router {

struct RouteCandidate {
  std::string node_id;
  bool local = false;
  bool ready = true;            // not ready (loading, draining, node down): never chosen
  double network_ms = 0;        // one forward's overhead to that node (0 for local)
  double expected_wait_ms = 0;  // queueing before it would start
  double service_ms = 0;        // its recent service time for one request
};

enum class Admission { kBestEffort, kRejectEarly };

struct RoutePlan {
  std::vector<size_t> order;         // indices into the candidates, best first; ready ones only
  std::vector<double> predicted_ms;  // per candidate (same indexing as the input)
  bool reject = false;               // kRejectEarly and no candidate meets the SLO
  std::string reason;                // why rejected (or why nothing can serve)
};

// `slo_ms` <= 0 means no SLO (never rejected for latency).
RoutePlan PlanRoute(const std::vector<RouteCandidate>& candidates, double slo_ms,
                    Admission admission);

double PredictedCompletionMs(const RouteCandidate& c);

}  // namespace epara::router
