#include "metrics/llm_metrics.h"

namespace epara::metrics {

LlmMetrics LlmMetrics::Create(Registry* r, const std::string& model) {
  const Labels l = {{"model", model}};
  const std::vector<double> buckets = ExponentialBuckets(0.001, 2.0, 16);  // 1 ms .. ~33 s
  LlmMetrics m;
  m.prompt_tokens = r->GetCounter("epara_llm_prompt_tokens_total", "Prompt tokens processed", l);
  m.generation_tokens = r->GetCounter("epara_llm_generation_tokens_total", "Tokens generated", l);
  for (const char* reason : {"stop", "length", "cancelled", "error"})
    m.finished[reason] =
        r->GetCounter("epara_llm_request_success_total", "Finished LLM requests by finish reason",
                      {{"model", model}, {"finished_reason", reason}});
  m.e2e = r->GetHistogram("epara_llm_e2e_request_latency_seconds", "End-to-end request latency", l,
                          buckets);
  m.ttft =
      r->GetHistogram("epara_llm_time_to_first_token_seconds", "Time to first token", l, buckets);
  m.tpot = r->GetHistogram("epara_llm_time_per_output_token_seconds",
                           "Mean inter-token latency per request", l, buckets);
  m.running = r->GetGauge("epara_llm_num_requests_running", "Sequences being decoded", l);
  m.waiting = r->GetGauge("epara_llm_num_requests_waiting", "Requests waiting for admission", l);
  m.kv_usage =
      r->GetGauge("epara_llm_kv_cache_usage_ratio", "Reserved share of the KV-cache budget", l);
  return m;
}

void LlmMetrics::RecordRequest(const std::string& finish_reason, int prompt, int completion,
                               double ttft_seconds, double total_seconds) const {
  prompt_tokens->Increment(prompt);
  generation_tokens->Increment(completion);
  auto it = finished.find(finish_reason);
  (it != finished.end() ? it->second : finished.at("error"))->Increment();
  e2e->Observe(total_seconds);
  if (completion > 0) ttft->Observe(ttft_seconds);
  if (completion > 1) tpot->Observe((total_seconds - ttft_seconds) / (completion - 1));
}

}  // namespace epara::metrics
