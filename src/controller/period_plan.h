// One period of the state-aware scheduler as pure functions over a snapshot (issue 6's controller,
// issue 23's simulator): the real controller (controller.cc) observes the cluster over HTTP and
// carries the steps out on the nodes; the simulator (sim/) observes its simulated nodes and applies
// the steps in virtual time. Both decide through these functions.
//
//   ObserveIngress: a node's cumulative ingress counters -> per-(service, ingress) rates, smoothed
//                   over periods (scheduler/demand_estimate.h).
//   PlanPeriod:     live nodes, the instances running now, service costs (profiles, or else the
//                   service times the nodes observed) and the smoothed demand -> the placement
//                   (scheduler::Place, hysteresis on the current instances) -> the loads and
//                   unloads in a safe order (scheduler::PlanDeployment).
// Rules kept from the controller: LLM instances are not moved; a service that has instances keeps
// at least one; only services that run somewhere are placed (the controller moves, it does not
// introduce); a service without a profile is costed from the best observed service time scaled to
// the fastest node (100 ms when none was observed: a slow guess).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "allocator/profile.h"
#include "core/status.h"
#include "scheduler/demand_estimate.h"
#include "scheduler/deployment.h"
#include "scheduler/placement.h"

namespace epara::controller {

// Smoothed demand: service -> ingress node -> estimate.
using DemandTable = std::map<std::string, std::map<std::string, scheduler::DemandEstimate>>;

// Folds one node's cumulative ingress counters (service -> requests since it started), read
// `elapsed_s` after the previous read (0: the first read, which only records the counts), into
// `demand`. `last` holds the previous counts and is updated. A counter that went backwards (the
// node restarted) only resets.
// `entered` (optional) gains, per service, the requests counted since the previous read.
void ObserveIngress(const std::string& node, const std::map<std::string, uint64_t>& counts,
                    double elapsed_s, double smoothing, std::map<std::string, uint64_t>* last,
                    DemandTable* demand, std::map<std::string, uint64_t>* entered = nullptr);

struct PeriodInput {
  struct Node {
    std::string id;
    double gflops = 0;         // its fastest device
    int64_t memory_bytes = 0;  // 0: unlimited
  };
  std::vector<Node> nodes;       // the live nodes
  scheduler::Instances current;  // vision/tensor instances running now
  std::set<std::string> llms;    // LLM services (never moved)
  // Spatially split services (never moved): a split's capacity is the pooled speed of every node
  // holding the service, which the placement model (one instance per unit, each meeting the SLO
  // alone) does not describe; moving them by it would strip the nodes the tiles need.
  std::set<std::string> split;
  std::map<std::string, double> observed_ms;  // per service: one request at the fastest node
  const std::vector<allocator::Profile>* profiles = nullptr;  // optional
  const DemandTable* demand = nullptr;
  double burst_headroom = 1.0;
  scheduler::PlacementConfig placement;
};

struct PeriodPlan {
  std::vector<scheduler::ServiceState> services;  // what was placed
  scheduler::PlacementResult placed;
  scheduler::Instances target;
  std::vector<scheduler::DeployStep> steps;
};

// FailedPrecondition (from PlanDeployment) when no safe order exists.
Status PlanPeriod(const PeriodInput& in, PeriodPlan* out);

}  // namespace epara::controller
