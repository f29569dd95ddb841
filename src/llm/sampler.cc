#include "llm/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace epara::llm {

int32_t SampleToken(std::span<const float> logits, const SamplingParams& p, std::mt19937_64& rng) {
  if (p.temperature <= 0)
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  size_t keep = ids.size();
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < keep) keep = static_cast<size_t>(p.top_k);
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(keep), ids.end(),
                    [&](int32_t a, int32_t b) {
                      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
                    });
  ids.resize(keep);
  const double mx = logits[ids[0]];
  std::vector<double> prob(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i)
    sum += prob[i] = std::exp((logits[ids[i]] - mx) / p.temperature);
  if (p.top_p < 1.0) {
    double acc = 0;
    size_t n = 0;
    while (n < keep && acc < p.top_p * sum) acc += prob[n++];
    keep = std::max<size_t>(1, n);
    prob.resize(keep);
    sum = acc;
  }
  std::uniform_real_distribution<double> u(0.0, sum);
  double r = u(rng), acc = 0;
  for (size_t i = 0; i < keep; ++i) {
    acc += prob[i];
    if (r < acc) return ids[i];
  }
  return ids[keep - 1];
}

TokenLogprob LogprobsOf(std::span<const float> logits, int32_t token, int top) {
  float max = logits[0];
  for (float v : logits) max = std::max(max, v);
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v - max));
  const float lse = max + static_cast<float>(std::log(sum));
  TokenLogprob out;
  out.token = token;
  out.logprob = logits[static_cast<size_t>(token)] - lse;
  const int k = std::min<int>(top, static_cast<int>(logits.size()));
  std::vector<int32_t> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  for (int i = 0; i < k; ++i) out.top.emplace_back(ids[i], logits[ids[i]] - lse);
  return out;
}

}  // namespace epara::llm
