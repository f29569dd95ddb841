#include "router/split_plan.h"

#include <algorithm>
#include <limits>
#include <string>

namespace epara::router {
namespace {

// Weighted tiles on the first `k` devices and when the slowest is predicted to finish; false when
// they cannot be planned.
bool PlanOn(int width, int height, const std::vector<vision::TileDevice>& devices, size_t k,
            const vision::TilePlanOptions& options, std::vector<vision::Tile>* tiles,
            std::vector<size_t>* device, double* finish) {
  tiles->clear();
  device->clear();
  if (k == 1) {  // the whole image on the earliest instance
    tiles->push_back({{0, 0, width, height}, {0, 0, width, height}});
    device->push_back(0);
  } else {
    const std::vector<vision::TileDevice> first(devices.begin(),
                                                devices.begin() + static_cast<std::ptrdiff_t>(k));
    if (!vision::PlanWeightedTiles(width, height, first, options, tiles, device).ok()) return false;
  }
  *finish = 0;
  for (size_t t = 0; t < tiles->size(); ++t) {
    const vision::TileDevice& d = devices[(*device)[t]];
    *finish = std::max(*finish, d.start_ms + d.ms_per_column * (*tiles)[t].input.w);
  }
  return true;
}

}  // namespace

Status PlanSplit(const std::vector<RouteCandidate>& candidates, int width, int height, int tiles,
                 bool profiled, SplitPlan* out, double budget_ms) {
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
    if (measured) {
      std::vector<vision::Tile> plan, best;
      std::vector<size_t> device, best_device;
      double best_finish = std::numeric_limits<double>::infinity();
      // Without a budget only the widest split; with one, the fewest instances that meet it.
      for (size_t k = budget_ms > 0 ? 1 : devices.size(); k <= devices.size(); ++k) {
        double finish = 0;
        if (!PlanOn(width, height, devices, k, options, &plan, &device, &finish)) continue;
        const bool meets = budget_ms > 0 && finish <= budget_ms;
        if (finish < best_finish || meets) {
          best_finish = finish;
          best.swap(plan);
          best_device.swap(device);
        }
        if (meets) break;
      }
      if (!best.empty()) {
        out->tiles = std::move(best);
        for (size_t d : best_device) out->on.push_back(order.order[d]);
        out->weighted = true;
        out->predicted_ms = best_finish;
        return Status::Ok();
      }
    }
  }
  EPARA_RETURN_IF_ERROR(vision::PlanTiles(width, height, options, &out->tiles));
  for (size_t i = 0; i < out->tiles.size(); ++i)
    out->on.push_back(order.order[i % order.order.size()]);
  return Status::Ok();
}

}  // namespace epara::router
