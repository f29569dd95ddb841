#include "router/route_policy.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

namespace epara::router {

double PredictedCompletionMs(const RouteCandidate& c) {
  return c.network_ms + c.expected_wait_ms + c.service_ms;
}

RoutePlan PlanRoute(const std::vector<RouteCandidate>& candidates, double slo_ms,
                    Admission admission) {
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
  if (plan.order.empty()) {
    plan.reject = true;
    plan.reason =
        candidates.empty() ? "no node hosts this model" : "no instance of this model is ready";
    return plan;
  }
  const double best = plan.predicted_ms[plan.order.front()];
  if (admission == Admission::kRejectEarly && slo_ms > 0 && best > slo_ms) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "no instance can meet the %.0f ms SLO (earliest predicted completion %.0f ms "
                  "on node %s)",
                  slo_ms, best, candidates[plan.order.front()].node_id.c_str());
    plan.reject = true;
    plan.reason = buf;
  }
  return plan;
}

}  // namespace epara::router
