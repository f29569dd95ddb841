// StepCost: an online estimate of what one engine's steps cost, learned from the steps it ran, so
// that the request handler can predict a new stream's time to first token on that engine (and a
// peer can, from the digest) without a profile.
//
// Model: a step that decodes n running sequences and prefills p prompt tokens takes about
//   decode_ms + p * prefill_ms_per_token
// (decode is weight-bandwidth bound at the batch sizes an edge node runs, so its cost hardly
// depends on n; prefill is compute bound, linear in its tokens). Both terms are exponentially
// weighted means (weight `kWeight` for the newest step), so they follow a device whose speed
// changes (contention, thermal throttling).
//
// Pure: no clock, no threads; the caller passes the step's measured time. Not thread-safe.
#pragma once

#include <cstdint>

namespace epara::llm {

class StepCost {
 public:
  static constexpr double kWeight = 0.2;
  // Prefill steps shorter than this many tokens say little about the per-token cost (the decode
  // part and the step's fixed cost dominate) and are used for the decode term only when p == 0.
  static constexpr int kMinPrefillTokens = 16;

  // One finished step: `decode_seqs` sequences decoded a token, `prefill_tokens` prompt tokens
  // were prefilled, and the step took `step_ms` (wall, including any emulated-device pause).
  void Observe(int decode_seqs, int prefill_tokens, double step_ms);

  // Milliseconds per prompt token; before any prefill was seen, half a decode step (prefill runs
  // batched over the prompt, ~2x a batch-1 decode token on the dev box's CPU); 0 when nothing is
  // known yet.
  double prefill_ms_per_token() const;
  // Milliseconds of one decode step of the running batch; 0 when no step was seen.
  double decode_step_ms() const { return decode_ms_; }
  bool known() const { return decode_ms_ > 0 || prefill_ms_ > 0; }

 private:
  double decode_ms_ = 0;   // 0: not seen
  double prefill_ms_ = 0;  // per token; 0: not seen
};

// Predicted time to the first token of a new prompt of `prompt_tokens` on an engine whose waiting
// sequences hold `queued_prompt_tokens` (FCFS: they are prefilled first), with `running` sequences
// decoding: the queue's and its own prefill, plus the step in progress when it arrives. 0 when the
// cost is unknown.
double PredictTtftMs(double prefill_ms_per_token, double decode_step_ms,
                     int64_t queued_prompt_tokens, int64_t prompt_tokens, int running);

}  // namespace epara::llm
