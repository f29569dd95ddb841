#include "llm/step_cost.h"

#include <algorithm>

namespace epara::llm {
namespace {

void Blend(double sample, double* mean) {
  *mean = *mean <= 0 ? sample : *mean + StepCost::kWeight * (sample - *mean);
}

}  // namespace

void StepCost::Observe(int decode_seqs, int prefill_tokens, double step_ms) {
  if (!(step_ms > 0)) return;
  if (prefill_tokens <= 0) {
    if (decode_seqs > 0) Blend(step_ms, &decode_ms_);
    return;
  }
  if (prefill_tokens < kMinPrefillTokens) return;
  // The decode share of a mixed step, as decode-only steps measured it.
  const double decode = decode_seqs > 0 ? decode_ms_ : 0;
  const double prefill = std::max(step_ms - decode, 0.1 * step_ms);
  Blend(prefill / prefill_tokens, &prefill_ms_);
}

double StepCost::prefill_ms_per_token() const {
  return prefill_ms_ > 0 ? prefill_ms_ : 0.5 * decode_ms_;
}

double PredictTtftMs(double prefill_ms_per_token, double decode_step_ms,
                     int64_t queued_prompt_tokens, int64_t prompt_tokens, int running) {
  if (prefill_ms_per_token <= 0) return 0;
  const double prefill =
      static_cast<double>(std::max<int64_t>(0, queued_prompt_tokens) + prompt_tokens) *
      prefill_ms_per_token;
  // A step already in progress finishes first (half of one on average); it decodes the running
  // sequences, and the new prompt's own step decodes them too.
  const double decode = running > 0 ? 1.5 * decode_step_ms : 0;
  return prefill + decode;
}

}  // namespace epara::llm
