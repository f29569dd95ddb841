#include "workload/goodput.h"

#include <algorithm>

namespace epara::workload {

bool MeetsSlo(const RequestRecord& r, const Slo& slo, double scale) {
  if (!r.ok) return false;
  if (slo.e2e_ms > 0 && r.e2e_ms > slo.e2e_ms * scale) return false;
  if (slo.ttft_ms > 0 && r.ttft_ms > slo.ttft_ms * scale) return false;
  if (slo.tpot_ms > 0 && r.tpot_ms > slo.tpot_ms * scale) return false;
  return true;
}

double SloAttainment(const std::vector<RequestRecord>& log, const Slo& slo, double scale) {
  if (log.empty()) return 0;
  const auto good =
      std::count_if(log.begin(), log.end(), [&](const auto& r) { return MeetsSlo(r, slo, scale); });
  return static_cast<double>(good) / static_cast<double>(log.size());
}

double SloMeetingRate(const std::vector<RequestRecord>& log, const Slo& slo, double from_s,
                      double to_s, double scale) {
  if (to_s <= from_s) return 0;
  int good = 0;
  for (const RequestRecord& r : log)
    if (r.sent_s >= from_s && r.sent_s < to_s && MeetsSlo(r, slo, scale)) ++good;
  return good / (to_s - from_s);
}

double Goodput(const std::vector<SweepPoint>& sweep, double target) {
  std::vector<SweepPoint> s = sweep;
  std::sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.rate < b.rate; });
  if (s.empty() || s.front().attainment < target) return 0;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i].attainment >= target) continue;
    // Between s[i-1] (passes) and s[i] (fails): where the line crosses the target.
    const SweepPoint& a = s[i - 1];
    const SweepPoint& b = s[i];
    const double f = (a.attainment - target) / (a.attainment - b.attainment);
    return a.rate + f * (b.rate - a.rate);
  }
  return s.back().rate;
}

}  // namespace epara::workload
