// Service placement (issue 6): the state-aware scheduler's decision, as a pure function over a
// snapshot of the cluster (nodes, services with their demand, the current placement), so the
// controller, `epara placement --explain` and a simulator all call the same code.
//
// The model
//   Every node has `units` equal shares of its compute (its speed split in `units` parts). An item
//   is one unit of node n given to service s; the first unit of s on n also loads an instance of s
//   there (its memory_bytes count against the node's memory). A unit of a node of speed v serves
//   s at rate  r(s, n) = rps_at_speed_1(s) * v / units  requests/s, and counts only when the
//   instance meets the SLO there (solo_ms / v <= slo_ms): requests served too slowly are not
//   goodput.
//
// The objective: predicted goodput, the SLO-meeting request rate,
//   G(S) = sum_s min(d_s, C_s(S))                         (C_s: the rate of the units s holds)
//        + locality * sum_s sum_i min(d_{s,i}, C_{s,i}(S)) (demand met on its ingress node i)
//        + keep * |S ∩ current|                             (hysteresis, see below)
// Each term is a concave function of a sum of nonnegative item weights, or modular, so G is
// monotone submodular: an item's marginal gain never grows as the placement grows.
//
// The algorithm: lazy greedy (Minoux). All items start in a max-heap keyed by their gain on the
// empty placement; the top item's gain is recomputed, and it is taken if it is still at least the
// next key (submodularity makes stale keys upper bounds), otherwise pushed back with the new key.
// Items that no longer fit (the node's units are used up, or its memory cannot hold one more
// instance) are dropped. Each evaluation is O(1) with the per-service and per-(service, ingress)
// rates kept incrementally, so a solve costs O(I log I) for I = nodes x services x units items.
//
// The bound: with memory not binding, the feasible sets form a partition matroid (at most `units`
// items per node) and greedy on a monotone submodular function over a matroid achieves at least
// 1/2 of the optimum (Fisher, Nemhauser and Wolsey 1978). Memory adds a knapsack per node, where
// no such guarantee holds for plain greedy; the tests compare against brute force on small clusters
// (with and without binding memory) and require >= 1/2 of the optimum (kGreedyBound).
//
// Hysteresis: an item already in the current placement gains `keep` extra (requests/s), so a
// placement moves only when the move is predicted to win more than that; noise in the demand
// does not make it flap. Dead nodes are simply absent: a node failure is a re-plan without it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "allocator/profile.h"

namespace epara::scheduler {

inline constexpr double kGreedyBound = 0.5;

struct NodeState {
  std::string id;
  double speed = 1;          // relative to the profiles' reference device
  int64_t memory_bytes = 0;  // for instances; 0: unlimited
};

struct ServiceState {
  std::string name;
  int64_t memory_bytes = 0;   // one instance
  double solo_ms = 0;         // one request alone on a device of speed 1
  double rps_at_speed_1 = 0;  // one instance's SLO-meeting throughput on a device of speed 1
  double slo_ms = 0;          // 0: none
  std::map<std::string, double> demand;  // requests/s by ingress node id (smoothed)
};

// A service as a profile describes it (demand left empty): memory; solo latency at speed 1 =
// the profile's batch-1 latency x `time_scale` (the profiling device's time relative to the
// reference device); throughput = the best of 1 / solo and batch / latency over the profiled
// batches that run within half of `slo_ms` (any batch when there is no SLO).
ServiceState ServiceFromProfile(const allocator::Profile& profile, double slo_ms,
                                double time_scale = 1);

struct PlacementConfig {
  int units = 4;          // compute shares per node
  double locality = 0.1;  // weight of demand met on its own ingress node
  double keep = 0.5;      // requests/s an item of the current placement is worth extra
};

// Units of each node a service holds: service -> node -> units (>= 1).
using Placement = std::map<std::string, std::map<std::string, int>>;

struct ServiceOutcome {
  double demand = 0;                        // requests/s, all ingresses
  double capacity = 0;                      // SLO-meeting requests/s its units serve
  double predicted_goodput = 0;             // min(demand, capacity)
  std::vector<std::string> added, removed;  // nodes where an instance starts / stops
  std::string why;                          // one line for --explain
};

struct PlacementResult {
  Placement placement;
  std::map<std::string, ServiceOutcome> services;
  double predicted_goodput = 0;  // sum over services
  int evaluations = 0;           // gain recomputations (the lazy greedy's work)
};

// Places `services` on `nodes` (see above). `current` may name nodes or services that no longer
// exist; they are ignored (their instances show as removed).
PlacementResult Place(const std::vector<NodeState>& nodes,
                      const std::vector<ServiceState>& services, const Placement& current,
                      const PlacementConfig& config = {});

// G(S) of a placement under the same model, without the hysteresis term (for tests and
// --explain: the value a placement is predicted to have).
double PredictedGoodput(const std::vector<NodeState>& nodes,
                        const std::vector<ServiceState>& services, const Placement& placement,
                        const PlacementConfig& config = {});

}  // namespace epara::scheduler
