// The unit of work between the API layer and a model's scheduler.
#pragma once

#include <functional>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "engine/batch_policy.h"

namespace epara::engine {

struct InferenceResult {
  Status status;
  std::vector<Tensor> outputs;  // descriptor output order, this request's rows only
  double queue_seconds = 0;     // enqueue -> batch start
  double compute_seconds = 0;   // backend time of the batch it ran in
  int64_t batch_rows = 0;       // rows in that batch
};

struct InferenceRequest {
  std::vector<Tensor> inputs;  // descriptor input order; dim 0 = rows when the model batches
  int64_t rows = 1;
  // Called exactly once with the result, from a scheduler worker thread. Must not block long.
  std::function<void(InferenceResult)> on_complete;
  // SLO-aware batching (BatchingConfig::slo_aware): the request's latency budget from enqueue
  // (0: none) and its class (latency-sensitive requests run first and never wait for company).
  double slo_ms = 0;
  bool latency_sensitive = false;
  // Runs in a batch of its own (a spatial tile: its shape differs from the descriptor's).
  bool solo = false;
  // A tile: its pixels / the model's input pixels. Its run time is learned as time / work_share
  // (a whole image's), so a node that ran a narrow tile does not look faster than it is.
  double work_share = 1;
  Clock::time_point enqueued{};                           // set by the scheduler
  Clock::time_point deadline = Clock::time_point::max();  // enqueued + slo_ms, set by the scheduler
};

// How the API layer classes a request (from the service's SLO and the request's headers).
struct RequestPriority {
  double slo_ms = 0;
  bool latency_sensitive = false;
  bool solo = false;      // InferenceRequest::solo
  double work_share = 1;  // InferenceRequest::work_share
};

}  // namespace epara::engine
