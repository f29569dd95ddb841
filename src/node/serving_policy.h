// Serving policies: the goodput benchmark's baselines (issue 7) as rewrites of one cluster config,
// so every policy runs on the same nodes, models and workload (`epara up --policy P`). Pure.
//
//   epara           the cluster file's placement; SLO-aware routing with reject-early admission,
//                   SLO-aware batching, the planned batching (plan:) and the state-aware
//                   controller (every 5 s unless the file sets controller.period_s).
//   replicate-rr    every model on every node whose memory holds it; round-robin routing; no
//                   batching (max batch 1) -- the simplest scale-out.
//   triton-like     the same static replicas; dynamic batching (not SLO-aware) with the
//                   descriptor's max queue delay and max batch, or the batch a profile shows to pay
//                   (tuned_max_batch, as Triton's model analyzer would pick); least-outstanding-
//                   requests routing; no forwarding by SLO, no splitting, no admission control.
//   alpaserve-like  placement by the controller's simulator-driven greedy (scheduler::Place over
//                   measured demand, no burst headroom), dynamic batching, least-outstanding
//                   routing; no request-level categorization (no SLO-aware batching, routing or
//                   admission). AlpaServe's model parallelism: the file's
//                   pipelines are kept.
//   local-only      the same static replicas; each node serves only the requests that arrive at it.
//   galaxy-like     the same static replicas and triton-like batching and routing, and every
//                   request of every segmentation model split over all the nodes that serve it
//                   (tiles sized by each node's predicted speed, as Galaxy plans its partitions by
//                   device capability: router/split_plan.h) -- splitting without categorizing
//                   (Galaxy, Ye et al., INFOCOM 2024, splits every request of its model).
//   nexus-like      batch-aware serving as Nexus (SOSP 2019) and Shepherd (NSDI 2023) do it: the
//                   static replicas, SLO-aware batching (deadline-bounded batches up to the batch a
//                   profile shows to pay), requests that cannot meet their SLO dropped at entry,
//                   least-outstanding routing; no categorization, no splitting, no controller.
//   clockwork-like  Clockwork (OSDI 2020): predictable per-request latency, one request per model
//                   at a time on each worker (batch 1, no queue delay), each request sent where its
//                   predicted completion is earliest (the SLO-aware router) and rejected at once
//                   when none meets its SLO; static replicas, no batching, no splitting, no
//                   controller.
// Every other baseline drops `plan:` (the categorized allocation) and splits (`models.split`).
// LLM pipelines (`pipelines:`, model parallelism) are kept by epara, alpaserve-like and
// galaxy-like; the replica-only baselines drop them and serve each LLM whole on the nodes whose
// memory holds it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "node/cluster_config.h"
#include "repo/model_descriptor.h"

namespace epara::node {

enum class ServingPolicy {
  kEpara,
  kReplicateRr,
  kTritonLike,
  kAlpaserveLike,
  kLocalOnly,
  kGalaxyLike,
  kNexusLike,
  kClockworkLike
};

bool ParseServingPolicy(const std::string& name, ServingPolicy* out);
const char* ServingPolicyName(ServingPolicy p);
std::vector<std::string> ServingPolicyNames();

struct ModelFootprint {
  std::string name;
  int64_t bytes = 0;  // weights + (LLMs) the KV-cache budget
  bool llm = false;
  BatchingConfig batching;  // the descriptor's
  bool segmentation = false;
  // From a profile (allocator::BatchThatPays, no SLO: what a Triton user's model analyzer would
  // pick): the baselines' max batch; 0: the descriptor's.
  int tuned_max_batch = 0;
};

// Rewrites `config` for `policy`. `models`: every model of the repository. "Fits" = the models a
// node takes, in the order of `models`, while their bytes stay within its memory budget (0: no
// budget). `notes` receives one line per node saying what it serves.
Status ApplyServingPolicy(ServingPolicy policy, const std::vector<ModelFootprint>& models,
                          ClusterConfig* config, std::vector<std::string>* notes);

}  // namespace epara::node
