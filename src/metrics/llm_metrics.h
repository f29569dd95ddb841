// The per-LLM metric series, named in the style of vLLM's with an epara_ prefix. Created once when
// the model loads (like ModelMetrics), so recording a request touches no registry lock.
//   epara_llm_prompt_tokens_total{model}, epara_llm_generation_tokens_total{model}
//   epara_llm_request_success_total{model,finished_reason}   stop | length | cancelled | error
//   epara_llm_e2e_request_latency_seconds, epara_llm_time_to_first_token_seconds,
//   epara_llm_time_per_output_token_seconds (histograms)
//   epara_llm_num_requests_running, epara_llm_num_requests_waiting, epara_llm_kv_cache_usage_ratio
//   (gauges)
#pragma once

#include <map>
#include <string>

#include "metrics/metrics_registry.h"

namespace epara::metrics {

struct LlmMetrics {
  Counter* prompt_tokens = nullptr;
  Counter* generation_tokens = nullptr;
  std::map<std::string, Counter*> finished;  // by finished_reason
  Histogram* e2e = nullptr;
  Histogram* ttft = nullptr;
  Histogram* tpot = nullptr;
  Gauge* running = nullptr;
  Gauge* waiting = nullptr;
  Gauge* kv_usage = nullptr;

  static LlmMetrics Create(Registry* registry, const std::string& model);

  // Records one finished request. An unknown `finish_reason` is counted as "error".
  void RecordRequest(const std::string& finish_reason, int prompt_tokens, int completion_tokens,
                     double ttft_seconds, double total_seconds) const;
};

}  // namespace epara::metrics
