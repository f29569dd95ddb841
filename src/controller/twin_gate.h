// The digital twin's gate (issue 24): before the controller applies a period's plan it runs the
// current placement and the candidate forward in a simulator fed by live state (sim/digital_twin.h
// is the simulator's implementation; the controller only sees this interface, so it does not
// depend on the simulator) and applies the candidate only when its predicted goodput is higher by
// more than the prediction's noise.
//
// Both placements are run on the same arrivals (common random numbers), so their difference is
// measured per batch of the horizon (batch means): the gain is the mean of the batches' differences
// and the noise twice its standard error. A candidate that gains nothing the twin can see (both
// meet every SLO) is not applied: a move that buys no goodput is churn.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "controller/period_plan.h"
#include "core/status.h"
#include "scheduler/deployment.h"

namespace epara::controller {

// One request's size as a node saw it enter (what the twin replays).
struct RequestShape {
  int image_size = 0;                        // vision
  int prompt_tokens = 0, output_tokens = 0;  // LLM
};

// One arrival to replay (hindsight runs): seconds from the start of the twin's warm-up.
struct TwinArrival {
  double at_s = 0;
  std::string service, ingress;
  RequestShape shape;
};

// Requests one node held for one service when the twin's horizon begins (its digest's queue).
struct TwinBacklog {
  std::string node, service;
  int queued = 0;   // admitted, not started (an LLM's waiting sequences)
  int running = 0;  // started (an LLM's running sequences)
};

struct TwinQuery {
  std::vector<std::string> live;   // node ids the controller sees
  scheduler::Instances current;    // every service served now -> its nodes (LLMs and splits too)
  scheduler::Instances candidate;  // the same after the plan
  const DemandTable* demand = nullptr;  // arrivals at each (service, ingress)'s smoothed mean
  // Recent requests' sizes per service, replayed in turn; a service without any: its model's
  // defaults (the network's input size; an LLM prompt of 128 and 64 output tokens).
  std::map<std::string, std::vector<RequestShape>> shapes;
  // Non-empty: these arrivals instead of Poisson ones at the demand's means (sorted by time; the
  // first warm-up seconds are not counted). A hindsight run replays a period's own arrivals, so
  // its error against what happened is the twin's model alone, not its demand forecast.
  std::vector<TwinArrival> replay;
  // The requests the nodes held when the horizon begins (live state: their queues). With
  // `backlog_known` the twin starts from them instead of from empty queues warmed up by arrivals:
  // they enter at their node just before the horizon, uncounted, with sizes from `shapes` (a
  // running LLM request has half its output left); no arrivals precede the horizon.
  bool backlog_known = false;
  std::vector<TwinBacklog> backlog;
  double horizon_s = 10;  // the period forecast (after a short warm-up the twin discards)
  uint64_t seed = 1;
};

struct TwinVerdict {
  double offered_rps = 0;    // the arrivals simulated, per second of the horizon
  double current_rps = 0;    // predicted goodput (SLO-meeting requests/s) of the current placement
  double candidate_rps = 0;  // of the candidate
  double noise_rps = 0;      // twice the standard error of the paired difference (batch means)
  bool apply = false;        // TwinApproves
};

// The placement `plan` leads to: `current` with each service the plan placed given the plan's
// target instances (a placed service the target leaves out has none). What the twin weighs as the
// candidate, in the controller and in the simulator alike.
scheduler::Instances CandidatePlacement(const scheduler::Instances& current,
                                        const PeriodPlan& plan);

// Adds the LLM request sizes a node's cluster view lists (`llm_shapes`: model -> [[prompt tokens,
// completion tokens], ...], node/node_agent.cc) to `shapes`, at most `keep` per service. Entries
// that are not two positive integers are skipped (a malformed view costs its shapes only).
inline constexpr size_t kTwinShapesKept = 256;  // per service, over all nodes' views
void AddViewShapes(const nlohmann::json& view, size_t keep,
                   std::map<std::string, std::vector<RequestShape>>* shapes);

// Adds the backlog a cluster view shows (its peers' digests: `nodes[].digest.instances[]`'s
// queue_length and in_flight; node/node_agent.cc) to `backlog`, for nodes not in `seen` yet (a
// view lists every node but itself; several views overlap). Nodes added go into `seen`.
void AddViewBacklog(const nlohmann::json& view, std::set<std::string>* seen,
                    std::vector<TwinBacklog>* backlog);

// The gate: the candidate's gain exceeds the noise and is positive.
bool TwinApproves(double current_rps, double candidate_rps, double noise_rps);

// Runs the twin for `query`; fills the verdict (apply included). Errors: the twin could not run
// (the controller then applies the plan as without a twin, and says so).
using TwinFn = std::function<Status(const TwinQuery& query, TwinVerdict* verdict)>;

}  // namespace epara::controller
