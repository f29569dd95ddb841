// Where the tiles of a spatially split request run (issue 5's LS-MD mode; issue 24's
// heterogeneous devices): a pure function of the route candidates, shared by the real node
// (NodeAgent::RunSplit) and the simulator, so both make the same decision.
//
//   order = PlanRoute(candidates, no SLO, best effort): earliest predicted completion first;
//   each of the first min(tiles, ready instances) gets one column tile sized by its prediction
//     (vision::PlanWeightedTiles: start = network + expected wait, time per column = its service
//     time for the whole image / width), so a fast node takes a wide tile and a slow one a narrow
//     tile (or none) and all are predicted to finish together: `tiles` is the most instances a
//     request is spread over (two tiles on one instance would run one after the other);
//   when one instance is ready, or an instance's service time is a guess (neither measured there
//     nor from a profile: `profiled` false), `tiles` equal tiles (vision::PlanTiles) on the order
//     round robin.
// The split degree (issue 24: the split degree of LS-MD services from measured demand, decided per
// request): with a time budget (`budget_ms` > 0, the SLO), the fewest of the first
// k = 1..min(tiles, ready) instances whose weighted tiles are all predicted to finish within it --
// fewer tiles carry fewer halo columns (a 2-tile 1024-wide frame computes 1,280 columns, a 4-tile
// one 1,792), so the other instances stay free for other requests; k = 1 is the whole image on the
// earliest instance. When no k meets the budget (a loaded cluster), the k whose slowest tile is
// predicted to finish first. budget_ms 0: always min(tiles, ready) (galaxy-like, or a client's
// explicit ?split=N).
#pragma once

#include <vector>

#include "core/status.h"
#include "router/route_policy.h"
#include "vision/spatial_split.h"

namespace epara::router {

struct SplitPlan {
  std::vector<vision::Tile> tiles;
  std::vector<size_t> on;  // per tile: the candidate (index into the input) that runs it
  bool weighted = false;
  double predicted_ms = 0;  // weighted: when its slowest tile is predicted to finish
};

inline constexpr int kSplitHalo = 128;  // >= the demo UNet's receptive-field radius (~122 px)
inline constexpr int kSplitAlign = 16;  // its downsampling factor

// Unavailable when no candidate is ready; InvalidArgument when the image cannot be tiled so.
Status PlanSplit(const std::vector<RouteCandidate>& candidates, int width, int height, int tiles,
                 bool profiled, SplitPlan* out, double budget_ms = 0);

}  // namespace epara::router
