// Turning a categorization into instance settings (issue 5, "plan application"): a pure function
// from the service's category, its profile and SLO to the batching its instances start with.
//
//   LS-SD (replicas): SLO-aware batching with no queue delay (latency-sensitive requests never wait
//     for company; concurrent ones may still share a batch within their deadlines, up to the
//     largest batch that pays, as below);
//   FS-SD (batching): SLO-aware batching; max batch = the largest profiled batch that runs within
//     half the SLO (a request may wait for one batch and then run in the next) and pays: its time
//     per request is >= 5% below the best smaller batch's (on CPUs where batching gains no
//     throughput, 1); queue delay = what the SLO leaves after two such batches, capped by the
//     descriptor's;
//   LS-MD vision (spatial split): replicas without queue delay, and every request is split into
//     `split` = max(2, devices needed) tiles on that many instances (the nodes' default split);
//   MD LLMs (pipeline): the engine batches continuously; the stages come from cluster.yaml's
//     `pipelines:` (node/cluster_plan.h), the note says so.
#pragma once

#include <string>

#include "allocator/categorizer.h"
#include "allocator/profile.h"
#include "repo/model_descriptor.h"

namespace epara::allocator {

struct ServicePlan {
  ParallelMode mode = ParallelMode::kReplicas;  // the mode the instances run
  BatchingConfig batching;
  int split = 0;     // spatial split: tiles per request (0: none)
  std::string note;  // what was chosen and why, for logs and --explain
};

// `current` is the descriptor's batching (its max_queue_size is kept; a model without batching
// support, max_batch_size 0 in the descriptor, keeps batch size 1).
// The largest profiled batch that runs within half the SLO (no limit when slo_ms <= 0) and still
// pays: its time per request is at least 5% below that of the best smaller batch. On a CPU where a
// batch of 8 takes 8x a batch of 1 (the demo UNet here: 45 ms vs 381 ms) batching adds latency
// and no throughput, so the answer is 1. `ms` (optional): the chosen batch's profiled latency.
int BatchThatPays(const Profile& profile, double slo_ms, double* ms = nullptr);

ServicePlan PlanService(const Categorization& c, const Profile& profile, double slo_ms,
                        const BatchingConfig& current);

}  // namespace epara::allocator
