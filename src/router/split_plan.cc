#include "router/split_plan.h"

#include <algorithm>
#include <string>

namespace epara::router {

Status PlanSplit(const std::vector<RouteCandidate>& candidates, int width, int height, int tiles,
                 bool profiled, SplitPlan* out) {
  *out = SplitPlan{};
  const RoutePlan order = PlanRoute(candidates, 0, Admission::kBestEffort);
  if (order.order.empty())
    return Unavailable(order.reason.empty() ? "no ready instance" : order.reason);
  if (tiles < 1) return InvalidArgument("split needs at least one tile");
  const vision::TilePlanOptions options{tiles, 1, kSplitHalo, kSplitAlign};
  const int instances = static_cast<int>(std::min(order.order.size(), static_cast<size_t>(tiles)));
  if (instances > 1 && width > 0) {
    std::vector<vision::TileDevice> devices;
    bool measured = true;
    for (int k = 0; k < instances; ++k) {
      const RouteCandidate& c = candidates[order.order[static_cast<size_t>(k)]];
      measured = measured && c.service_ms > 0 && (c.service_measured || profiled);
      devices.push_back({c.network_ms + c.expected_wait_ms, c.service_ms / width});
    }
    std::vector<size_t> device;
    if (measured &&
        vision::PlanWeightedTiles(width, height, devices, options, &out->tiles, &device).ok()) {
      for (size_t d : device) out->on.push_back(order.order[d]);
      out->weighted = true;
      return Status::Ok();
    }
  }
  EPARA_RETURN_IF_ERROR(vision::PlanTiles(width, height, options, &out->tiles));
  for (size_t i = 0; i < out->tiles.size(); ++i)
    out->on.push_back(order.order[i % order.order.size()]);
  return Status::Ok();
}

}  // namespace epara::router
