// ClusterConfig: what `epara up --cluster cluster.yaml` reads: a local heterogeneous testbed of
// node processes on this host. Example:
//
//   models: ./demo-models         # the model repository every node reads (relative to this file)
//   sync_interval_ms: 200
//   down_after_ms: 3000
//   admission: best-effort        # or reject-early
//   route_peers: 16               # optional: peers a request weighs (node_config.h; 0: all)
//   sync_zone_size: 50            # optional: runs of 50 nodes (file order) sync and route within
//                                 # themselves (node_config.h sync_zone); default all-to-all
//   nodes:
//     - {id: edge-1, class: edge-server, serve: [seg-demo, llama-demo], api_port: 8001}
//     - {id: board-1, class: embedded, serve: [seg-demo]}
//     - {id: micro-1, class: microcomputer, serve: [tensor-demo], cpu_quota: 0.2}
//   controller: {period_s: 10}    # optional: the state-aware scheduler re-places services;
//                                 # twin: true weighs each plan in the digital twin first;
//                                 # llm_modes: false leaves LLMs as they are (default: a lost
//                                 # LLM comes back whole or as a pipeline; a pipeline goes whole);
//                                 # llm_expand: true adds a pipeline for an LLM whose whole
//                                 # instances miss the SLO (FS-MD from measured demand)
//   pipelines:                    # optional: LLMs split into layer ranges over several nodes
//     llama-demo: {stages: [edge-1, board-1], depth: 2}   # layers: [5, 3] to fix the split
//
// Device classes are built-in profiles (DeviceClassProfile): a CPU thread cap, a CPU share
// emulated by backend/throttled_instance.h, and a memory budget. A node may override any of them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "node/node_config.h"

namespace epara::node {

struct DeviceClassProfile {
  std::string name;
  int cpu_threads;  // 0: all cores
  double cpu_quota;
  int64_t memory_mb;
};

// edge-server (all cores, full speed, 8 GB), embedded (1 thread at 1/2 speed, 2 GB),
// microcomputer (1 thread at 1/4 speed, 1 GB). NotFound for another name.
Status FindDeviceClass(const std::string& name, DeviceClassProfile* out);

struct ClusterConfig {
  std::string models_dir;         // absolute
  std::vector<NodeConfig> nodes;  // store, sync and admission filled in from the cluster's
  // Optional `plan: {profiles: profiles.json, rates: {seg-demo: 20}}`: `epara up` categorizes the
  // profiled services and starts their instances with the planned batching (node/cluster_plan.h).
  std::string plan_profiles;  // absolute; empty: no plan
  std::map<std::string, double> plan_rates;
  // Pipeline-parallel LLMs (issue 5), by model: `epara up` splits the layers over `stages` (by
  // speed and memory, allocator/pipeline_split.h, unless `layers` gives the counts) and writes
  // each stage into its node's `pipeline` (node/cluster_plan.h, PlanPipelines).
  struct Pipeline {
    std::vector<std::string> stages;  // node ids, first = the head
    std::vector<int> layers;          // per stage; empty: planned
    int depth = 0;                    // micro-batches in flight; 0: one per stage
  };
  std::map<std::string, Pipeline> pipelines;
  // `controller: {period_s: T, grace_ms: G, burst_headroom: K, twin: B}`: `epara up` runs the
  // controller every T seconds (controller/controller.h); 0: no controller.
  double controller_period_s = 0;
  int controller_grace_ms = -1;
  double controller_burst_headroom = 1.0;  // standard deviations of demand provisioned
  // `controller: {twin: true}`: each plan is weighed in the digital twin first
  // (controller/twin_gate.h, sim/digital_twin.h); needs profiles of every served model.
  bool controller_twin = false;
  // `controller: {llm_modes: false}`: the controller leaves LLMs as they are (controller/
  // llm_modes.h; default: it recovers lost LLMs and consolidates pipelines).
  bool controller_llm_modes = true;
  // `controller: {llm_expand: true}`: with the LLM modes, a pipeline is built beside the whole
  // instances of an LLM that misses its SLO, and torn down when its demand falls (llm_modes.h
  // expand). Off by default.
  bool controller_llm_expand = false;
};

// `store_port`: where the nodes find `epara up`'s store (its gateway). Errors name the file and
// field.
Status LoadClusterConfig(const std::string& path, int store_port, ClusterConfig* out);
Status ParseClusterConfig(const std::string& yaml, const std::string& source,
                          const std::string& base_dir, int store_port, ClusterConfig* out);

// A node config as YAML that ParseNodeConfig() reads back to the same values.
std::string NodeConfigToYaml(const NodeConfig& c);

// How many nodes of `config` serve `model` (a node without `serve` serves every model).
int NodesServing(const ClusterConfig& config, const std::string& model);

}  // namespace epara::node
