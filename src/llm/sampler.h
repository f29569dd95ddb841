// Token sampling as a pure function of logits, parameters and the sequence's own RNG, so a seed
// reproduces a completion exactly.
#pragma once

#include <cstdint>
#include <random>
#include <span>

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

}  // namespace epara::llm
