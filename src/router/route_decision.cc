#include "router/route_decision.h"

namespace epara::router {

RouteDecision ExplainRoute(const std::string& model, const std::vector<RouteCandidate>& candidates,
                           const RoutePlan& plan, RouteMode mode, double slo_ms, bool llm,
                           double at_ms) {
  RouteDecision d;
  d.at_ms = at_ms;
  d.model = model;
  d.mode = RouteModeName(mode);
  d.slo_ms = slo_ms;
  d.llm = llm;
  d.reason = plan.reason;
  std::vector<bool> listed(candidates.size(), false);
  auto add = [&](size_t i) {
    const RouteCandidate& c = candidates[i];
    RouteDecision::Option o;
    o.node = c.node_id;
    o.local = c.local;
    o.ready = c.ready;
    o.measured = c.service_measured;
    o.network_ms = c.network_ms;
    o.wait_ms = c.expected_wait_ms;
    o.service_ms = c.service_ms;
    o.predicted_ms = i < plan.predicted_ms.size() ? plan.predicted_ms[i] : 0;
    o.outstanding = c.outstanding;
    d.options.push_back(std::move(o));
    listed[i] = true;
  };
  for (size_t i : plan.order)
    if (i < candidates.size()) add(i);
  for (size_t i = 0; i < candidates.size(); ++i)
    if (!listed[i]) add(i);
  if (plan.reject || plan.order.empty()) {
    d.outcome = "rejected";
  } else {
    const RouteCandidate& first = candidates[plan.order.front()];
    d.outcome = first.local ? "local" : "forward";
    d.chosen = first.node_id;
  }
  return d;
}

}  // namespace epara::router
