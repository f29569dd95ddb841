// Applying the allocator's plan to a cluster configuration at start (issue 5, "plan application"):
// every profiled service is categorized against the cluster's devices (allocator/categorizer.h),
// turned into instance settings (allocator/service_plan.h), and written into the batching of every
// node that serves it. No I/O: `epara up` and `epara plan` share it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "allocator/categorizer.h"
#include "allocator/profile.h"
#include "allocator/service_plan.h"
#include "allocator/variant_choice.h"
#include "llm/llama_config.h"
#include "node/cluster_config.h"
#include "scheduler/placement.h"

namespace epara::node {

struct PlannedService {
  std::string model;
  allocator::ServiceSpec spec;
  allocator::Categorization category;
  allocator::ServicePlan plan;
};

// The devices of `cluster` as the categorizer sees them (one per node and device; speed = the
// emulated CPU share, memory = the budget).
std::vector<allocator::DeviceBudget> ClusterDevices(const ClusterConfig& cluster);

// Plans every service in `profiles` that has a descriptor in `descriptors`; demand from `rates`
// (requests/s by model, 0 when absent). When `apply`, sets the batching of each node serving it.
std::vector<PlannedService> PlanCluster(const std::vector<allocator::Profile>& profiles,
                                        const std::vector<ModelDescriptor>& descriptors,
                                        const std::map<std::string, double>& rates,
                                        const allocator::CategorizerConfig& config,
                                        ClusterConfig* cluster, bool apply);

// For a service with several variants (ModelDescriptor::variant), the variant one node's device
// should serve (allocator/variant_choice.h).
struct VariantPlan {
  std::string service;  // variant.of
  std::string node;
  allocator::VariantChoice choice;
};

// Every node (its first device) x every service whose variants have descriptors; a variant without
// a profile is left out of the choice. SLO: the tightest end-to-end SLO the variants declare.
// Pure: `epara plan --explain` prints it.
std::vector<VariantPlan> PlanVariants(const std::vector<allocator::Profile>& profiles,
                                      const std::vector<ModelDescriptor>& descriptors,
                                      const ClusterConfig& cluster);

// In every node's `serve:` list, replaces a service name that has variants (e.g. `isnet-bg`) by the
// variant `plan` chose for that node, or drops it when none can run there. One line per change.
std::vector<std::string> ApplyVariants(const std::vector<VariantPlan>& plan,
                                       ClusterConfig* cluster);

// The scheduler's snapshot of a cluster configuration (scheduler/placement.h): one NodeState per
// node (speed = its CPU share, as ClusterDevices; memory = its budget) and one ServiceState per
// profiled service with a descriptor: memory and solo latency from the profile, throughput = the
// best batch / latency among batches within half the SLO (LLMs: 1 / prefill), the descriptor's
// SLO (LLMs: time to first token), demand from `demand` (model -> ingress node -> requests/s).
void PlacementInputs(const ClusterConfig& cluster, const std::vector<allocator::Profile>& profiles,
                     const std::vector<ModelDescriptor>& descriptors,
                     const std::map<std::string, std::map<std::string, double>>& demand,
                     std::vector<scheduler::NodeState>* nodes,
                     std::vector<scheduler::ServiceState>* services);

// What the pipeline planner needs to know of an LLM (from its config.json).
struct LlmShape {
  int layers = 0;
  int64_t layer_bytes = 0;  // weights of one decoder layer plus its share of the KV cache
  int64_t head_bytes = 0;   // the first stage's extra: the embedding
  int64_t tail_bytes = 0;   // the last stage's extra: final norm and LM head (if untied)
};

// The shape of an LLM with config `c` whose KV cache holds `kv_cache_mb` (its descriptor's), FP32
// weights: what `epara up`, the controller and `epara sim` all plan pipelines with.
LlmShape LlmShapeOf(const llm::LlamaConfig& c, int kv_cache_mb);

// Writes every pipeline of `cluster` into its nodes: stage i's node gets layers [a, b), the next
// node's id and (the head) the depth; the head serves the model. Layer counts are the configured
// ones, else SplitLayers over the nodes' speed (threads x CPU share) and memory. One line per
// pipeline in `explain` (e.g. "llama-demo: n1 [0, 4) -> n2 [4, 8), depth 2").
// InvalidArgument when a model has no shape or cannot be split so.
Status PlanPipelines(const std::map<std::string, LlmShape>& shapes, int host_threads,
                     ClusterConfig* cluster, std::vector<std::string>* explain);

}  // namespace epara::node
