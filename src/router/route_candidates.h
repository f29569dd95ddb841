// Route candidates: what the distributed request handler predicts for each instance that could take
// a request, from what a node knows of it (its own exact queue, or a peer's last load digest). Pure
// functions over those snapshots: the node agent (node/request_routing.cc) and the simulator
// (sim/) build candidates through these and nothing else, then order them with PlanRoute*.
//
// Predictions (see router/route_policy.h for how they are ordered):
//  - a vision/tensor instance: wait = the scheduler's expected wait (engine/batch_cost.h) plus, for
//    a peer, one recent row's cost per request this node has sent there since its digest; service
//    = one recent batch's run time, or before any batch ran, UnmeasuredServiceMs;
//  - an LLM engine: TTFT from its queued prompt tokens, running batch and measured step costs
//    (llm/step_cost.h), its own prompt's prefill as the service; a peer that has measured nothing
//    yet is predicted with this node's own step costs scaled by the two devices' speeds.
// A peer is a candidate only with a digest fresher than the down timeout that lists the instance
// ready, and not while it is marked unreachable with no newer digest since.
#pragma once

#include <cstdint>
#include <string>

#include "cluster/load_digest.h"
#include "router/route_policy.h"

namespace epara::router {

// A service time for an instance that has not run anything yet: a profile's solo latency scaled
// from the profiling device's speed to this one's (when a profile is known: profile_solo_ms > 0 and
// profile_gflops > 0), else 100 ms at 1 GFLOP/s (the faster device gets the first requests).
double UnmeasuredServiceMs(double profile_solo_ms, double profile_gflops, double node_gflops);

// This node's vision/tensor instance: its scheduler's exact load.
RouteCandidate LocalInstanceCandidate(const std::string& node_id, bool ready,
                                      double expected_wait_ms, double service_ms, int outstanding,
                                      double unmeasured_service_ms);

// This node's LLM engine, from its exact stats.
struct LlmEngineLoad {
  int running = 0, waiting = 0;
  int64_t waiting_prompt_tokens = 0;
  double prefill_ms_per_token = 0, decode_step_ms = 0;  // 0: not measured yet
};
// `mean_ttft_ms`: the engine's mean TTFT so far (0: none), used before any step was measured.
RouteCandidate LocalLlmCandidate(const std::string& node_id, const LlmEngineLoad& load,
                                 int64_t prompt_tokens, double mean_ttft_ms,
                                 double unmeasured_service_ms);

// What this node knows of one peer's instance.
struct PeerView {
  const cluster::InstanceLoad* load = nullptr;  // from its newest digest; null: none listed
  bool fresh = false;                           // that digest arrived within the down timeout
  bool unreachable = false;          // a forward failed to start and no newer digest came since
  bool llm = false;                  // the instance is an LLM engine
  double network_ms = 0;             // this node's estimate of one forward's overhead there
  int mine = 0;                      // requests this node has outstanding there
  int64_t recent_prompt_tokens = 0;  // LLM prompt tokens sent there since its digest
  double unmeasured_service_ms = 0;  // UnmeasuredServiceMs for that node
  // This node's own LLM step costs (0: none) and local_gflops / that node's gflops.
  double own_prefill_ms_per_token = 0, own_decode_step_ms = 0, slower = 1;
};
RouteCandidate PeerCandidate(const std::string& node_id, const PeerView& view,
                             int64_t prompt_tokens);

}  // namespace epara::router
