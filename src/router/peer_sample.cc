#include "router/peer_sample.h"

#include <cmath>

namespace epara::router {

void SampleBySpeed(const std::vector<double>& weights, size_t m, uint64_t turn,
                   std::vector<size_t>* picked) {
  if (m == 0 || weights.empty()) return;
  double smallest = 0;
  for (double w : weights)
    if (w > 0 && (smallest == 0 || w < smallest)) smallest = w;
  if (smallest == 0) smallest = 1;
  double total = 0;
  for (double w : weights) total += w > 0 ? w : smallest;
  const double step = total / static_cast<double>(m);
  // Offset in [0, step): the golden ratio's multiples mod 1 spread evenly over consecutive turns.
  const double phase =
      std::fmod(static_cast<double>(turn % (1ull << 52)) * 0.6180339887498949, 1.0);
  const size_t before = picked->size();
  double point = phase * step, cumulative = 0;
  for (size_t k = 0; k < weights.size() && point < total; ++k) {
    cumulative += weights[k] > 0 ? weights[k] : smallest;
    if (point >= cumulative) continue;
    if (std::find(picked->begin(), picked->begin() + static_cast<long>(before), k) ==
        picked->begin() + static_cast<long>(before))
      picked->push_back(k);
    while (point < cumulative) point += step;  // one pick per host, however many points it holds
  }
}

}  // namespace epara::router
