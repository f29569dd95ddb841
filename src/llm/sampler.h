// Token sampling as a pure function of logits, parameters and the sequence's own RNG, so a seed
// reproduces a completion exactly.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace epara::llm {

struct SamplingParams {
  double temperature = 1.0;  // 0 = greedy (argmax)
  int top_k = 0;             // 0 = off
  double top_p = 1.0;        // nucleus; 1 = off
};

// Picks a token id. Greedy when temperature == 0 (ties: lowest id). Otherwise softmax(logits / T)
// restricted to the top_k most likely ids, then to the smallest set whose probability reaches
// top_p, sampled with `rng`. REQUIRES: !logits.empty().
int32_t SampleToken(std::span<const float> logits, const SamplingParams& params,
                    std::mt19937_64& rng);

// A sampled token's log-probability under the model (log-softmax of the raw logits, before
// temperature, top-k and top-p, as vLLM reports it) and the `top` most likely tokens with theirs,
// most likely first (ties: lowest id).
struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;
};
// REQUIRES: !logits.empty(), 0 <= token < logits.size(), top >= 0.
TokenLogprob LogprobsOf(std::span<const float> logits, int32_t token, int top);

}  // namespace epara::llm
