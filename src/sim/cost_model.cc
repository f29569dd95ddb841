#include "sim/cost_model.h"

#include <algorithm>
#include <map>

namespace epara::sim {

double Interpolate(const std::vector<std::pair<double, double>>& p, double x) {
  if (p.empty() || x <= 0) return 0;
  if (x <= p.front().first) return p.front().second * x / p.front().first;
  for (size_t i = 1; i < p.size(); ++i)
    if (x <= p[i].first) {
      const auto& [x0, y0] = p[i - 1];
      const auto& [x1, y1] = p[i];
      return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
    }
  if (p.size() == 1) return p.front().second * x / p.front().first;
  const auto& [x0, y0] = p[p.size() - 2];
  const auto& [x1, y1] = p.back();
  return y1 + std::max(0.0, (y1 - y0) / (x1 - x0)) * (x - x1);
}

double ServiceCost::StepMs(int decode_seqs, int prefill_tokens) const {
  double ms = 0;
  if (decode_seqs > 0) ms += Interpolate(decode_ms, decode_seqs);
  if (prefill_tokens > 0) ms += Interpolate(prefill_ms, prefill_tokens);
  return ms;
}

Status CostFromProfile(const allocator::Profile& profile, int threads, ServiceCost* out) {
  *out = ServiceCost{};
  if (!profile.batches.empty()) {
    std::map<int, std::map<int, double>> by_threads;  // threads -> batch -> ms
    for (const allocator::BatchPoint& b : profile.batches)
      by_threads[b.threads][b.batch] = b.latency.median_ms;
    auto pick = by_threads.upper_bound(std::max(1, threads));
    if (pick != by_threads.begin()) --pick;
    for (const auto& [batch, ms] : pick->second) out->batch_ms.emplace_back(batch, ms);
  }
  for (const allocator::PrefillPoint& p : profile.prefill)
    out->prefill_ms.emplace_back(p.tokens, p.latency.median_ms);
  for (const allocator::DecodePoint& d : profile.decode)
    out->decode_ms.emplace_back(d.batch, d.latency.median_ms);
  std::sort(out->prefill_ms.begin(), out->prefill_ms.end());
  std::sort(out->decode_ms.begin(), out->decode_ms.end());
  if (profile.task == "llm" ? out->prefill_ms.empty() || out->decode_ms.empty()
                            : out->batch_ms.empty())
    return InvalidArgument("profile of '" + profile.model + "' (" + profile.task +
                           ") has no points the simulator can use");
  return Status::Ok();
}

}  // namespace epara::sim
