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
};

inline constexpr int kSplitHalo = 128;  // >= the demo UNet's receptive-field radius (~122 px)
inline constexpr int kSplitAlign = 16;  // its downsampling factor

// Unavailable when no candidate is ready; InvalidArgument when the image cannot be tiled so.
Status PlanSplit(const std::vector<RouteCandidate>& candidates, int width, int height, int tiles,
                 bool profiled, SplitPlan* out);

}  // namespace epara::router
