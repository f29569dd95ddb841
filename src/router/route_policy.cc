#include "router/route_policy.h"

#include "core/decision_counters.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>

namespace epara::router {

namespace {

// A uniform number in [0, 1) from `turn` and the local node's id, so nodes with equal request
// counters still draw differently (splitmix64 finalizer over an FNV-1a mix).
double UnitDraw(const std::vector<RouteCandidate>& candidates, uint64_t turn) {
  uint64_t h = turn * 0x9E3779B97F4A7C15ULL;
  for (const RouteCandidate& c : candidates)
    if (c.local)
      for (char ch : c.node_id) h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001B3ULL;
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 29;
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// One of `among` (indices into `predicted_ms`), chosen with probability proportional to
// 1 / predicted (at least 1 ms), by the draw `u` in [0, 1).
size_t DrawByInverse(const std::vector<size_t>& among, const std::vector<double>& predicted_ms,
                     double u) {
  auto weight = [&](size_t i) { return 1.0 / std::max(1.0, predicted_ms[i]); };
  double total = 0;
  for (size_t i : among) total += weight(i);
  u *= total;
  for (size_t i : among) {
    u -= weight(i);
    if (u < 0) return i;
  }
  return among.back();
}

}  // namespace

double PredictedCompletionMs(const RouteCandidate& c) {
  return c.network_ms + c.expected_wait_ms + c.service_ms;
}

RoutePlan PlanRoute(const std::vector<RouteCandidate>& candidates, double slo_ms,
                    Admission admission, double local_slo_share, uint64_t turn,
                    double admission_slo_share) {
  RoutePlan plan;
  plan.predicted_ms.resize(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    plan.predicted_ms[i] = PredictedCompletionMs(candidates[i]);
    if (candidates[i].ready) plan.order.push_back(i);
  }
  std::sort(plan.order.begin(), plan.order.end(), [&](size_t a, size_t b) {
    if (plan.predicted_ms[a] != plan.predicted_ms[b])
      return plan.predicted_ms[a] < plan.predicted_ms[b];
    if (candidates[a].local != candidates[b].local) return candidates[a].local;
    return candidates[a].node_id < candidates[b].node_id;
  });
  // Spread among the peers that meet the SLO with margin, at random weighted by 1 / predicted
  // completion, instead of always the earliest: every ingress node ranks the peers on the same
  // stale digests, and a burst arriving at several of them at once would all go to the one that
  // looked idle (measured in the goodput benchmark: a burst of 8 images at 4 req/s all on the edge
  // server, 9 late; the baselines' round-robin spread it).
  if (slo_ms > 0) {
    std::vector<size_t> comfortable;
    for (size_t i : plan.order)
      if (!candidates[i].local && plan.predicted_ms[i] <= local_slo_share * slo_ms)
        comfortable.push_back(i);
    if (comfortable.size() > 1) {
      const size_t pick = DrawByInverse(comfortable, plan.predicted_ms, UnitDraw(candidates, turn));
      auto at = std::find(plan.order.begin(), plan.order.end(), pick);
      std::rotate(plan.order.begin(), at, at + 1);
    }
  }
  // Local first whenever it meets the SLO with margin: its load is exact (peers' digests are up to
  // a sync interval old, so several ingress nodes seeing the same idle fast peer would all send it
  // their requests at once), it costs no hop, and it leaves the fast nodes free for the requests
  // that need them. A slower local node that meets the SLO is as good for goodput.
  if (slo_ms > 0) {
    auto local = std::find_if(plan.order.begin(), plan.order.end(),
                              [&](size_t i) { return candidates[i].local; });
    if (local != plan.order.end() && plan.predicted_ms[*local] <= local_slo_share * slo_ms)
      std::rotate(plan.order.begin(), local, local + 1);
  }
  if (plan.order.empty()) {
    plan.reject = true;
    plan.reason =
        candidates.empty() ? "no node hosts this model" : "no instance of this model is ready";
    return plan;
  }
  const double best = plan.predicted_ms[plan.order.front()];
  if (admission == Admission::kRejectEarly && slo_ms > 0 && best > admission_slo_share * slo_ms) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "no instance can meet the %.0f ms SLO (earliest predicted completion %.0f ms "
                  "on node %s; admitted within %.0f%% of the SLO)",
                  slo_ms, best, candidates[plan.order.front()].node_id.c_str(),
                  100 * admission_slo_share);
    plan.reject = true;
    plan.reason = buf;
  }
  return plan;
}

bool ParseRouteMode(const std::string& name, RouteMode* out) {
  for (RouteMode m : {RouteMode::kSloAware, RouteMode::kRoundRobin, RouteMode::kLeastOutstanding,
                      RouteMode::kLocalOnly})
    if (name == RouteModeName(m)) {
      *out = m;
      return true;
    }
  return false;
}

const char* RouteModeName(RouteMode mode) {
  switch (mode) {
    case RouteMode::kSloAware:
      return "slo-aware";
    case RouteMode::kRoundRobin:
      return "round-robin";
    case RouteMode::kLeastOutstanding:
      return "least-outstanding";
    case RouteMode::kLocalOnly:
      return "local-only";
  }
  return "?";
}

RoutePlan PlanRouteWithMode(const std::vector<RouteCandidate>& candidates, double slo_ms,
                            Admission admission, RouteMode mode, uint64_t turn,
                            double local_slo_share, double admission_slo_share) {
  CountDecision(Decisions().plan_route);
  if (mode == RouteMode::kSloAware)
    return PlanRoute(candidates, slo_ms, admission, local_slo_share, turn, admission_slo_share);
  RoutePlan plan;
  plan.predicted_ms.resize(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    plan.predicted_ms[i] = PredictedCompletionMs(candidates[i]);
    if (candidates[i].ready && (mode != RouteMode::kLocalOnly || candidates[i].local))
      plan.order.push_back(i);
  }
  auto by_id = [&](size_t a, size_t b) { return candidates[a].node_id < candidates[b].node_id; };
  if (mode == RouteMode::kRoundRobin) {
    std::sort(plan.order.begin(), plan.order.end(), by_id);
    if (!plan.order.empty())
      std::rotate(plan.order.begin(), plan.order.begin() + turn % plan.order.size(),
                  plan.order.end());
  } else if (mode == RouteMode::kLeastOutstanding) {
    // Ties: rotate by `turn` too, so equal queues share the load instead of piling on one node.
    std::vector<size_t> ids = plan.order;
    std::sort(ids.begin(), ids.end(), by_id);
    std::vector<size_t> rank(candidates.size(), 0);  // by candidate index
    for (size_t k = 0; k < ids.size(); ++k)
      rank[ids[k]] = (k + ids.size() - turn % std::max<size_t>(1, ids.size())) % ids.size();
    std::sort(plan.order.begin(), plan.order.end(), [&](size_t a, size_t b) {
      if (candidates[a].outstanding != candidates[b].outstanding)
        return candidates[a].outstanding < candidates[b].outstanding;
      return rank[a] < rank[b];
    });
  }
  if (plan.order.empty()) {
    plan.reject = true;
    if (mode == RouteMode::kLocalOnly)
      plan.reason = "local-only routing and this node has no ready instance of the model";
    else
      plan.reason =
          candidates.empty() ? "no node hosts this model" : "no instance of this model is ready";
  }
  return plan;
}

}  // namespace epara::router
