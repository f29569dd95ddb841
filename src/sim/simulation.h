// Simulation: ParaSim for epara (issue 23). A discrete-event model of an epara cluster that makes
// every decision with the real code and models only time:
//   - routing: each request at its ingress node gets candidates from router/route_candidates.h
//     (this node's exact load, the peers' last digests as this node has them) ordered by
//     router::PlanRouteWithMode; a failed forward marks the peer unreachable until a newer digest;
//   - batching: engine::DecideBatch / engine::DecideSloBatch over the instance's queue, with
//     engine::BatchCost as the load the digests report;
//   - LLM engines: llm::PlanStep per step (continuous batching, KV-cache admission), llm::StepCost
//     learned from the simulated steps;
//   - LLM pipelines: a head's engine keeps `depth` micro-batch groups, each planned by
//     llm::PlanStep with its share of max_running (LlmEngine::Launch); a group's step runs every
//     stage in turn, each stage one step at a time (its model's lock), a stage's time the step's
//     cost x its share of the layers on that node, hops between stages with their bytes;
//   - spatial splits: a segmentation request on a node whose config splits the model runs as
//     vision::PlanTiles' tiles on router::PlanRoute's order of the same candidates, each tile a
//     solo batch (NodeAgent::RunSplit's rules);
//   - the state-aware scheduler: controller::ObserveIngress + controller::PlanPeriod every period
//     (and at once when a node's record expires), the deployment steps applied in virtual time.
// Time comes from profiles (sim/cost_model.h) scaled by each node's speed; a forward costs the
// pair's network time; request work outside the model (image decode/encode) a fixed time per
// image size. Digests are sent every sync interval and delivered after the network delay; a
// receiver sees the newest one delivered to it (lost ones never arrive), so routing sees stale
// state exactly as nodes do. Faults: node crash and recovery, digest loss, controller outage.
//
// Deterministic: same spec, workload and seed -> the same outcomes, bit for bit.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "allocator/profile.h"
#include "cluster/load_digest.h"
#include "controller/llm_modes.h"
#include "controller/period_plan.h"
#include "engine/batch_cost.h"
#include "llm/step_cost.h"
#include "llm/step_planner.h"
#include "loadgen/workload_spec.h"
#include "repo/model_descriptor.h"
#include "router/route_policy.h"
#include "sim/cost_model.h"
#include "sim/event_queue.h"

namespace epara::sim {

struct SimModel {
  std::string name;
  bool llm = false;
  double slo_ms = 0;        // what routing and SLO-aware batching use (the descriptor's; LLM: TTFT)
  double tpot_ms = 0;       // LLM: the descriptor's time per output token (0: none)
  BatchingConfig batching;  // the descriptor's (a node's override wins)
  int64_t memory_bytes = 0;   // one instance
  llm::PlannerLimits limits;  // LLM engines
  int max_waiting = 256;      // LLM: queued beyond this are rejected (503)
  ServiceCost cost;           // on the profiling device
  // Segmentation: the network's input (the descriptor's preprocess size), which a spatial split
  // tiles; a tile costs a batch of 1 x its input pixels / these pixels (a convolutional network's
  // work grows with its pixels). tile_bytes_per_pixel: a tile's FP32 input channels and output
  // logits per pixel, what a forwarded tile carries both ways.
  int width = 0, height = 0;
  int64_t tile_bytes_per_pixel = 0;
  double profile_solo_ms = 0, profile_gflops = 0;  // router::UnmeasuredServiceMs's prior
  // LLM pipelines: decoder layers (a stage's share of a step is its layers / these), the bytes a
  // step sends on per token (FP32 hidden state) and returns per sequence (FP32 logits).
  int layers = 0;
  int64_t hidden_bytes_per_token = 0, logit_bytes_per_row = 0;
  // LLMs: memory per layer, embedding and head (node::LlmShapeOf), for the controller's LLM modes
  // and the nodes' memory in use.
  controller::LlmSize llm_size;
};

// One node's part of a pipeline-parallel LLM (node::PipelineStageConfig, as `epara up` plans it).
struct SimStage {
  int stage = 0;  // 0: the head (runs the engine, serves requests)
  int first_layer = 0, end_layer = 0;
  std::string next;  // node id of the next stage; empty on the last
  int depth = 2;     // head: micro-batch groups in flight
};

struct SimNodeSpec {
  std::string id, device_class;
  double speed = 1;   // compute relative to the profiling device (its CPU share)
  double gflops = 1;  // what its record advertises (the controller's and the prior's speed)
  int64_t memory_bytes = 0;
  std::vector<std::string> serve;                  // instances at start
  std::map<std::string, BatchingConfig> batching;  // per model, replaces the descriptor's
  std::map<std::string, int> split;                // per model: tiles per request (the plan's)
  bool split_fit = true;  // the fewest of them predicted to meet the SLO (NodeConfig::split_fit)
  std::map<std::string, SimStage> pipeline;  // per model: this node's pipeline stage
  router::RouteMode routing = router::RouteMode::kSloAware;
  int route_peers = 0;  // slo-aware routing weighs at most this many peers (0: all; node config)
  router::Admission admission = router::Admission::kBestEffort;
  double admission_slo_share = 1.0;  // NodeConfig::admission_slo_share
  // NodeConfig::admission_adaptive: reject-early's share adapts per model each simulated second
  // as the node's does (router::RollAdmissionShare). Off here by default; scenarios take the
  // node config's (on by default).
  bool admission_adaptive = false;
};

struct SimFault {
  enum class Kind { kCrash, kRecover, kControllerDown, kControllerUp, kDigestLoss };
  Kind kind = Kind::kCrash;
  double at_s = 0;
  std::string node;  // crash / recover
  double loss = 0;   // kDigestLoss: the share of digests lost from then on
};

struct SimOptions {
  uint64_t seed = 1;
  double sync_interval_ms = 200;
  double down_after_ms = 3000;
  double network_ms = 0.3;  // one forward's overhead (measured hop cost); digests take the same
  // MB/s between nodes for the bytes a forwarded spatial tile carries (its FP32 input and logits);
  // 0: not modelled (loopback). Whole forwarded requests are charged network_ms only.
  double bandwidth_mb_s = 0;
  std::map<std::string, std::map<std::string, double>> network;  // per pair, overrides (from->to)
  double controller_period_s = 0;                                // 0: no controller
  // The controller weighs each period's plan in the digital twin (sim/digital_twin.h) over the
  // next period and applies it only when the twin predicts more goodput (controller/twin_gate.h).
  bool twin = false;
  double burst_headroom = 1.0;
  // The controller's LLM modes each period (controller/llm_modes.h, ClusterConfig's
  // controller.llm_modes): a lost LLM recovered whole or as a pipeline, a pipeline consolidated,
  // with the file's pipelines (SimNodeSpec::pipeline at the start) declared.
  bool llm_modes = false;
  bool llm_expand = false;  // with llm_modes: FS-MD from measured demand (controller.llm_expand)
  scheduler::PlacementConfig placement;
  double load_ms = 1000;         // an instance's load + warm-up before it is advertised
  double request_timeout_s = 5;  // the client gives up (a failed request)
  // Request work outside the model on the serving node (decode, resize, encode), by image side;
  // sides between two entries interpolate, others scale with pixels from the nearest.
  std::map<int, double> request_work_ms;
  double digest_loss = 0;
  std::vector<SimFault> faults;
  // 0: every node has its own hardware. N > 0: all nodes share one host of N cores, as `epara up`'s
  // testbed does: every compute phase (a batch, an LLM step, a request's work) progresses at
  // min(1, N / phases computing now) (processor sharing), and a node of speed q < 1 then idles
  // for (its compute phase's wall time) x (1/q - 1), as backend/throttled_instance.h does, so a
  // throttled node slowed by contention is slowed 1/q times as much.
  double host_cores = 0;
  // Load-digest sync. 0: all-to-all (what the real nodes do: every node sends every peer its
  // digest every Δ). Z > 0: zones of Z consecutive nodes (node i is in zone i / Z); digests go to
  // the node's zone only, so routing sees the peers of its own zone (a peer without a digest is
  // no candidate) and a node sends Z - 1 digests per Δ instead of N - 1.
  int zone_size = 0;
};

struct SimSpec {
  std::vector<SimModel> models;
  std::vector<allocator::Profile> profiles;  // what the controller is given (may be empty)
  std::vector<SimNodeSpec> nodes;
  SimOptions options;
};

// One request's outcome (as the load generator records it).
struct SimOutcome {
  bool ok = false;
  int status = 0;  // HTTP status; 0: no response (connection refused or timed out)
  double e2e_ms = 0, ttft_ms = 0, tpot_ms = 0;
  std::string node;  // the node that served it (else the ingress)
};

// One controller period's forecast (SimOptions::twin): predicted goodput of the placement kept or
// applied over [at_s, at_s + horizon_s), and what the simulated cluster then did over that window
// (requests sent in it meeting their model's SLO, per second; sim/digital_twin.h ModelSloMet).
struct TwinPeriod {
  double at_s = 0, horizon_s = 0;
  double offered_rps = 0, current_rps = 0, candidate_rps = 0, noise_rps = 0;
  bool changed = false;      // the plan had steps
  bool applied = false;      // and the twin let them through
  double predicted_rps = 0;  // applied ? candidate : current
  double observed_rps = 0;
  double observed_offered_rps = 0;  // requests sent in the window, per second
  // Hindsight: the twin run again on the same placement with the window's own arrivals (and the
  // warm-up's before them) instead of its demand forecast: its error against observed_rps is the
  // twin's model alone.
  double hindsight_rps = 0;
};

struct SimStats {
  uint64_t events = 0;
  double end_s = 0;           // virtual time when the last event ran (the load's end plus draining)
  uint64_t digests_sent = 0;  // digest messages (one per receiver)
  uint64_t digest_bytes = 0;  // their bytes on the wire (sim/digest_size.h)
  uint64_t forwards = 0;      // requests forwarded to a peer
  uint64_t routes = 0, route_candidates = 0;  // routing decisions and the candidates they weighed
  uint64_t split_requests = 0;                // requests run as spatial tiles
  uint64_t tiles = 0, remote_tiles = 0;
  uint64_t pipeline_steps = 0, pipeline_failed_steps = 0;  // steps of pipelined LLM groups
  uint64_t controller_periods = 0;
  double controller_wall_s = 0;  // host time spent in the controller's periods (not simulated)
  double controller_max_wall_s = 0;
  uint64_t deploy_steps = 0;
  double staleness_ms_sum = 0;  // age of the digests routing used
  uint64_t staleness_samples = 0;
  std::map<std::string, std::vector<double>> node_busy;  // per node, per second: busy share
  std::vector<std::string> log;  // controller decisions and faults, one line each
  std::vector<TwinPeriod> twin;  // per controller period, with SimOptions::twin
  uint64_t twin_rejected = 0;    // plans with steps the twin did not apply
  double twin_wall_s = 0;        // host time in the twin's runs (inside controller_wall_s)
};

// Runs `schedule` (sorted by time; services index `workload_models`, names of spec models) on a
// cluster built from `spec`, for `duration_s` of offered load then until every request ended.
// InvalidArgument when a workload model is not in the spec or the spec is inconsistent.
Status Simulate(const SimSpec& spec, const std::vector<std::string>& workload_models,
                const std::vector<loadgen::ScheduledRequest>& schedule, double duration_s,
                std::vector<SimOutcome>* outcomes, SimStats* stats);

}  // namespace epara::sim
