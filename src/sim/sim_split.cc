// Spatial splits in the simulator (issue 24: LS-MD segmentation): NodeAgent::RunSplit's decision,
// router::PlanSplit over the same route candidates a request would get. The serving node (after its
// request work: decode and resize) runs each tile where the plan puts it; a local tile goes
// straight to the local queue, a remote one costs the hop plus its bytes both ways at
// SimOptions::bandwidth_mb_s. Each tile runs as a solo batch at its share of the model's pixels.
// The request ends when its last tile did: 200 when all succeeded, else 503 (RunSplit's first
// failed tile). Stitching is not charged (a copy of the logits).
#include "router/split_plan.h"
#include "sim/sim_cluster.h"

namespace epara::sim::internal {

void Cluster::Split(Req* r, int node, int tiles) {
  const SimModel& model = spec_.models[r->model];
  std::vector<router::RouteCandidate> candidates;
  std::vector<int> target;
  double own_prefill = 0, own_decode = 0;
  Candidates(node, *r, &candidates, &target, &own_prefill, &own_decode);
  router::SplitPlan split;
  // NodeAgent::RunSplit's budget: the SLO less the request's time so far (here its decode and
  // encode are charged before the split: what the real node subtracts as twice its decode).
  const double budget_ms = nodes_[node].spec.split_fit && model.slo_ms > 0
                               ? std::max(1e-3, model.slo_ms - (q_.now() - r->sent))
                               : 0;
  if (const Status s = router::PlanSplit(candidates, model.width, model.height, tiles,
                                         model.profile_solo_ms > 0, &split, budget_ms);
      !s.ok()) {
    Respond(r, false, s.code() == StatusCode::kUnavailable ? 503 : 400);
    return;
  }
  const std::vector<vision::Tile>& plan = split.tiles;
  ++stats_->split_requests;
  r->tiles_left = static_cast<int>(plan.size());
  const double pixels = double(model.width) * model.height;
  for (size_t k = 0; k < plan.size(); ++k) {
    Req& t = tiles_.emplace_back();
    t.index = r->index;
    t.model = r->model;
    t.ingress = node;
    t.sent = r->sent;
    t.parent = r;
    t.solo = true;
    t.share = double(plan[k].input.w) * plan[k].input.h / pixels;
    const int j = target[split.on[k]];
    t.node = j;
    ++stats_->tiles;
    if (j == node) {
      Deliver(&t, j);
      continue;
    }
    ++stats_->remote_tiles;
    t.remote = true;
    const double bytes = double(plan[k].input.w) * plan[k].input.h * model.tile_bytes_per_pixel;
    // The hop there, the input's bytes; the logits come back after the run (charged up front:
    // the same total, and the tile's queue position is what matters).
    Req* tile = &t;
    q_.After(TransferMs(node, j, bytes), [this, tile, j, inc = nodes_[j].incarnation] {
      if (nodes_[j].incarnation != inc || !nodes_[j].up) {
        Respond(tile, false, 503);
        return;
      }
      Deliver(tile, j);
    });
  }
}

void Cluster::TileEnded(Req* tile, bool ok) {
  Req* r = tile->parent;
  if (!ok) r->tile_failed = true;
  if (--r->tiles_left > 0 || r->ended) return;
  // The way back: a remote tile's hop is part of its own time; the stitch is a copy.
  Respond(r, !r->tile_failed, r->tile_failed ? 503 : 200);
}

}  // namespace epara::sim::internal
