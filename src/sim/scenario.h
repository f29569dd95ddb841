// Scenarios for `epara sim` (issue 23): the simulated cluster built from what `epara up` would
// start (a cluster config after node::ApplyPolicyAndPlan, the repository's descriptors, the
// profiles), and large clusters generated from device-class mixes.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "allocator/profile.h"
#include "core/status.h"
#include "loadgen/workload_spec.h"
#include "node/cluster_config.h"
#include "node/serving_policy.h"
#include "repo/model_descriptor.h"
#include "sim/simulation.h"

namespace epara::sim {

// The simulated twin of `config` (its nodes after the policy and plan): each node's speed is its
// CPU share (the profiles were measured with one thread at full speed, as every testbed node
// runs), its advertised GFLOP/s the profiles' device speed times that share; each model's costs
// from its profile (NotFound naming the model when it has none: run `epara profile`), its
// batching, SLO and KV-cache limits from its descriptor (an LLM's KV bytes per token from its
// config.json). `options` supplies what the config does not say (seed, network, request work,
// faults); the sync interval, down timeout and controller come from the config. Only the models in
// `needed` are simulated (the others are dropped from every node: nothing would ask for them).
Status BuildSimSpec(const node::ClusterConfig& config, const std::vector<ModelDescriptor>& models,
                    const std::vector<node::ModelFootprint>& footprints,
                    const std::vector<allocator::Profile>& profiles, const SimOptions& options,
                    const std::set<std::string>& needed, SimSpec* out);

struct ScaleOptions {
  int nodes = 0;  // 0: the config as written
  // Device-class shares (normalized): default 5% edge servers, 25% boards, 70% microcomputers.
  std::vector<std::pair<std::string, double>> mix = {
      {"edge-server", 0.05}, {"embedded", 0.25}, {"microcomputer", 0.70}};
  int copies = 1;          // each workload model becomes this many services (name-k)
  int serve_per_node = 4;  // services each generated node serves at the start
  // Deal services per zone of this many nodes (SimOptions::zone_size) so every zone holds every
  // service; 0: over the whole cluster.
  int zone_size = 0;
  uint64_t seed = 1;
};

// A generated cluster of `scale.nodes` nodes (ids "edge-<i>", "board-<i>", "micro-<i>"), node
// settings copied from the first node of `base`, device settings from each class's profile
// (node::FindDeviceClass). With copies > 1 every model in `services` is replicated as services
// "<model>-0".."<model>-(copies-1)" (descriptors, footprints and profiles alike); node i serves
// serve_per_node of them, dealt in turn (within its zone, with zones). Classes are interleaved in
// the node order (a class's share of any run of nodes is its share of the mix). InvalidArgument for
// an empty mix or an unknown class.
Status ScaleCluster(const node::ClusterConfig& base, const ScaleOptions& scale,
                    const std::vector<std::string>& services, node::ClusterConfig* config,
                    std::vector<ModelDescriptor>* models,
                    std::vector<node::ModelFootprint>* footprints,
                    std::vector<allocator::Profile>* profiles);

// Maps a workload's schedule (its services and ingress nodes name the base cluster's) onto a scaled
// cluster: request k's service s becomes copy (hash of k) of it, index s x copies + copy; with
// `generated` nodes, it enters at copy c's own nodes i = c (mod copies) -- clients are local to a
// service -- or, with `uniform_ingress`, at any node. Seeded by scale.seed; deterministic.
void SpreadOverScaledCluster(const ScaleOptions& scale, const node::ClusterConfig& config,
                             bool generated, bool uniform_ingress,
                             std::vector<loadgen::ScheduledRequest>* schedule);

}  // namespace epara::sim
