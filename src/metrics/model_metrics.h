// The per-model metric series, named in the style of Triton's (nv_inference_*) with an epara_
// prefix. Durations are in seconds (Prometheus convention).
//   epara_inference_request_success_total{model}      requests answered OK
//   epara_inference_request_failure_total{model,reason} failed or rejected requests
//   epara_inference_count_total{model}                inferences (rows) executed
//   epara_inference_exec_count_total{model}           batches executed
//   epara_inference_request_duration_seconds{model}   end to end inside the server (histogram)
//   epara_inference_queue_duration_seconds{model}     waiting in the batcher (histogram)
//   epara_inference_compute_duration_seconds{model}   backend execution per batch (histogram)
//   epara_inference_batch_size{model}                 rows per executed batch (histogram)
//   epara_inference_pending_requests{model}           queued, not yet executing (gauge)
#pragma once

#include <string>

#include "core/status.h"
#include "metrics/metrics_registry.h"

namespace epara::metrics {

struct ModelMetrics {
  Counter* success = nullptr;
  Counter* failure_invalid = nullptr;   // reason="invalid"
  Counter* failure_rejected = nullptr;  // reason="rejected" (queue full, not ready)
  Counter* failure_backend = nullptr;   // reason="backend"
  Counter* inference_count = nullptr;
  Counter* exec_count = nullptr;
  Histogram* request_duration = nullptr;
  Histogram* queue_duration = nullptr;
  Histogram* compute_duration = nullptr;
  Histogram* batch_size = nullptr;
  Gauge* pending = nullptr;

  // Creates (or finds) every series for `model` in `registry`.
  static ModelMetrics Create(Registry* registry, const std::string& model, int max_batch_size);

  // Records one finished request: success, or a failure whose reason follows from the status
  // (InvalidArgument/NotFound/PayloadTooLarge -> invalid; ResourceExhausted/Unavailable ->
  // rejected; anything else -> backend), and its duration.
  void RecordRequest(const Status& status, double seconds) const;
};

}  // namespace epara::metrics
