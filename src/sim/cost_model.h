// ServiceCost: what the simulator charges for compute (issue 23), from `epara profile` output: a
// vision batch's latency vs its rows, an LLM step's cost from its prefill tokens and decode batch,
// on the profiling device. A node of relative speed v (its CPU share: the testbed's cpu_quota, as
// backend/throttled_instance.h emulates it) takes these times / v.
//
// Between profiled points the cost is linear; below the first point it is proportional (a prefill
// of 16 tokens costs half of 32); beyond the last it extends the last segment's slope.
#pragma once

#include <utility>
#include <vector>

#include "allocator/profile.h"
#include "core/status.h"

namespace epara::sim {

// Piecewise-linear y(x) through (x, y) points (sorted by x, x > 0), as described above.
double Interpolate(const std::vector<std::pair<double, double>>& points, double x);

struct ServiceCost {
  std::vector<std::pair<double, double>> batch_ms;    // rows -> ms (vision, tensor)
  std::vector<std::pair<double, double>> prefill_ms;  // prompt tokens -> ms (LLM)
  std::vector<std::pair<double, double>> decode_ms;   // sequences -> ms for one step (LLM)

  double BatchMs(int rows) const { return Interpolate(batch_ms, rows); }
  // One continuous-batching step: `decode_seqs` sequences decode a token and `prefill_tokens`
  // prompt tokens are prefilled (llm/step_cost.h's model of a step).
  double StepMs(int decode_seqs, int prefill_tokens) const;
  bool empty() const { return batch_ms.empty() && prefill_ms.empty() && decode_ms.empty(); }
};

// The profile's points at `threads` intra-op threads (the nearest profiled count at or below it;
// the fewest profiled when none is). InvalidArgument when the profile has no points for its task.
Status CostFromProfile(const allocator::Profile& profile, int threads, ServiceCost* out);

}  // namespace epara::sim
