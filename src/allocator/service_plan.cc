#include "allocator/service_plan.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace epara::allocator {
namespace {

constexpr double kBatchGain = 0.05;

// Batch latency (ms) at `batch` with the most threads profiled; 0 if not measured.
double BatchMs(const Profile& p, int batch) {
  int threads = 0;
  double ms = 0;
  for (const BatchPoint& b : p.batches)
    if (b.batch == batch && b.threads >= threads) {
      threads = b.threads;
      ms = b.latency.median_ms;
    }
  return ms;
}

}  // namespace

int BatchThatPays(const Profile& profile, double slo_ms, double* ms) {
  int best = 1;
  double best_ms = BatchMs(profile, 1);
  std::vector<int> sizes;
  for (const BatchPoint& b : profile.batches) sizes.push_back(b.batch);
  std::sort(sizes.begin(), sizes.end());
  for (int batch : sizes) {
    const double t = BatchMs(profile, batch);
    if (batch <= best || t <= 0 || (slo_ms > 0 && t > slo_ms / 2)) continue;
    if (best_ms > 0 && t / batch > (1 - kBatchGain) * best_ms / best) continue;
    best = batch;
    best_ms = t;
  }
  if (ms) *ms = best_ms;
  return best;
}

ServicePlan PlanService(const Categorization& c, const Profile& profile, double slo_ms,
                        const BatchingConfig& current) {
  ServicePlan plan;
  plan.batching = current;
  plan.batching.slo_aware = true;
  char buf[200];
  const bool can_batch = current.max_batch_size > 0;
  switch (c.mode) {
    case ParallelMode::kBatching: {
      plan.mode = ParallelMode::kBatching;
      if (!can_batch) {
        plan.note = "batching wanted, but the model's descriptor does not batch";
        break;
      }
      double best_ms = 0;
      const int best = BatchThatPays(profile, slo_ms, &best_ms);
      plan.batching.max_batch_size = best;
      if (slo_ms > 0) {
        const int64_t left_us = static_cast<int64_t>((slo_ms - 2 * best_ms) * 1000);
        plan.batching.max_queue_delay_us =
            std::clamp<int64_t>(left_us, 0, current.max_queue_delay_us);
      }
      std::snprintf(
          buf, sizeof buf,
          "SLO-aware batching: up to %d per batch (%.1f ms profiled), queue delay %.1f ms", best,
          best_ms, plan.batching.max_queue_delay_us / 1e3);
      plan.note = buf;
      break;
    }
    case ParallelMode::kReplicas:
      plan.mode = ParallelMode::kReplicas;
      plan.batching.max_queue_delay_us = 0;
      plan.note = "replicas: SLO-aware batching without queue delay";
      if (can_batch && !profile.batches.empty()) {
        plan.batching.max_batch_size = BatchThatPays(profile, slo_ms, nullptr);
        plan.note += ", up to " + std::to_string(plan.batching.max_batch_size) + " per batch";
      }
      break;
    case ParallelMode::kSpatialSplit:
      plan.mode = ParallelMode::kSpatialSplit;
      plan.batching.max_queue_delay_us = 0;
      plan.split = std::max(2, c.devices_needed);
      std::snprintf(buf, sizeof buf,
                    "spatial split: every request as %d tiles on %d instances at once, no queue "
                    "delay",
                    plan.split, plan.split);
      plan.note = buf;
      break;
    case ParallelMode::kPipeline:
      plan.mode = ParallelMode::kPipeline;
      plan.note =
          "pipeline: layer ranges on several nodes, listed under `pipelines:` in cluster.yaml";
      break;
    default:
      plan.mode = ParallelMode::kReplicas;
      plan.batching.max_queue_delay_us = 0;
      std::snprintf(buf, sizeof buf,
                    "%s is not executed by instances yet: serving as replicas without queue delay",
                    Name(c.mode));
      plan.note = buf;
      break;
  }
  return plan;
}

}  // namespace epara::allocator
