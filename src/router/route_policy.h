// The distributed request handler's decision for one request (DESIGN: per-request time scale), as a
// pure function over a snapshot of candidates so a simulator can reuse it.
//
// Predicted completion of a candidate = network estimate + expected wait + service time. The plan
// orders candidates by predicted completion (earliest first; ties: local first, then node id), so
// the first is "the earliest that meets the SLO" whenever any does, and the rest are the retry
// order. Exception: with an SLO, the local instance goes first when its prediction is within
// kLocalSloShare of the SLO (exact load, no hop; peers' digests are stale by up to a sync interval,
// and ingress nodes that all see one idle fast peer herd onto it: measured in the goodput
// benchmark, bursts of 3-4 requests took ~900 ms there against a 600 ms SLO). For the same reason
// the first remote choice is drawn among the peers predicted within that share of the SLO,
// weighted by 1 / predicted completion, rather than always the earliest. With admission
// kRejectEarly a request that no candidate can finish within its SLO is rejected up front (HTTP 503
// with the reason); kBestEffort sends it to the earliest anyway. `admission_slo_share` < 1 admits
// only what is predicted within that share of the SLO: under overload the admitted queue settles
// where predictions reach the limit, so at 1.0 half of what is admitted finishes past the SLO
// (bench/results/README.md, session 23's overload bench); nodes adapt it per service under
// overload (router/admission_share.h).
//
// The goodput benchmark's baselines (issue 7) route the same candidates differently (RouteMode):
//   kRoundRobin        every ready instance in turn (node id order, rotated by `turn`);
//   kLeastOutstanding  fewest requests queued or running first (Triton behind a least-request
//                      load balancer), blind to device speed and SLO;
//   kLocalOnly         only the node the request arrived at.
// These never reject for latency: their users have no SLO-aware admission.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace epara::router {

struct RouteCandidate {
  std::string node_id;
  bool local = false;
  bool ready = true;              // not ready (loading, draining, node down): never chosen
  double network_ms = 0;          // one forward's overhead to that node (0 for local)
  double expected_wait_ms = 0;    // queueing before it would start
  double service_ms = 0;          // its recent service time for one request
  bool service_measured = false;  // service_ms was measured there (else a prior: profile or guess)
  int outstanding = 0;            // requests queued or running there (as last seen)
};

inline constexpr double kLocalSloShare = 0.8;
// LLM streams: the TTFT prediction (llm/step_cost.h) misses the prefill of prompts that arrive
// after the request and a long prefill on a slow node also stalls every stream decoding there, so
// a stream stays local only with a wider margin.
inline constexpr double kLlmLocalSloShare = 0.5;

enum class Admission { kBestEffort, kRejectEarly };
enum class RouteMode { kSloAware, kRoundRobin, kLeastOutstanding, kLocalOnly };
// "slo-aware" | "round-robin" | "least-outstanding" | "local-only"; false for another name.
bool ParseRouteMode(const std::string& name, RouteMode* out);
const char* RouteModeName(RouteMode mode);

struct RoutePlan {
  std::vector<size_t> order;         // indices into the candidates, best first; ready ones only
  std::vector<double> predicted_ms;  // per candidate (same indexing as the input)
  bool reject = false;               // kRejectEarly and no candidate meets the SLO
  std::string reason;                // why rejected (or why nothing can serve)
};

// `slo_ms` <= 0 means no SLO (never rejected for latency).
// `turn` seeds the spread among comfortable peers (see the file comment).
RoutePlan PlanRoute(const std::vector<RouteCandidate>& candidates, double slo_ms,
                    Admission admission, double local_slo_share = kLocalSloShare, uint64_t turn = 0,
                    double admission_slo_share = 1.0);

// The same candidates ordered by `mode` (kSloAware: PlanRoute above). `turn` is the caller's
// request counter (kRoundRobin rotates by it). predicted_ms is filled in every mode.
RoutePlan PlanRouteWithMode(const std::vector<RouteCandidate>& candidates, double slo_ms,
                            Admission admission, RouteMode mode, uint64_t turn,
                            double local_slo_share = kLocalSloShare,
                            double admission_slo_share = 1.0);

double PredictedCompletionMs(const RouteCandidate& c);

}  // namespace epara::router
