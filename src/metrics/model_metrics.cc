#include "metrics/model_metrics.h"

namespace epara::metrics {

ModelMetrics ModelMetrics::Create(Registry* r, const std::string& model, int max_batch_size) {
  const Labels l = {{"model", model}};
  auto reason = [&](const char* why) {
    return r->GetCounter("epara_inference_request_failure_total",
                         "Failed or rejected inference requests",
                         {{"model", model}, {"reason", why}});
  };
  const std::vector<double> latency = ExponentialBuckets(0.0005, 2.0, 16);  // 0.5 ms .. ~16 s
  ModelMetrics m;
  m.success =
      r->GetCounter("epara_inference_request_success_total", "Successful inference requests", l);
  m.failure_invalid = reason("invalid");
  m.failure_rejected = reason("rejected");
  m.failure_backend = reason("backend");
  m.inference_count =
      r->GetCounter("epara_inference_count_total", "Inferences performed (batch rows)", l);
  m.exec_count = r->GetCounter("epara_inference_exec_count_total", "Model executions (batches)", l);
  m.request_duration = r->GetHistogram("epara_inference_request_duration_seconds",
                                       "End-to-end request duration inside the server", l, latency);
  m.queue_duration = r->GetHistogram("epara_inference_queue_duration_seconds",
                                     "Time requests waited in the scheduler queue", l, latency);
  m.compute_duration = r->GetHistogram("epara_inference_compute_duration_seconds",
                                       "Backend execution time per batch", l, latency);
  m.batch_size = r->GetHistogram("epara_inference_batch_size", "Rows per executed batch", l,
                                 LinearBuckets(1, 1, std::max(1, max_batch_size)));
  m.pending =
      r->GetGauge("epara_inference_pending_requests", "Requests queued, not yet executing", l);
  return m;
}

void ModelMetrics::RecordRequest(const Status& status, double seconds) const {
  request_duration->Observe(seconds);
  switch (status.code()) {
    case StatusCode::kOk:
      success->Increment();
      break;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kPayloadTooLarge:
      failure_invalid->Increment();
      break;
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable:
      failure_rejected->Increment();
      break;
    default:
      failure_backend->Increment();
      break;
  }
}

}  // namespace epara::metrics
