#include "workload/goodput.h"

#include <algorithm>
#include <cmath>

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

Interval MeanInterval95(const std::vector<double>& values) {
  Interval r;
  r.n = static_cast<int>(values.size());
  if (values.empty()) return r;
  double sum = 0;
  for (double v : values) sum += v;
  r.mean = sum / r.n;
  r.lo = r.hi = r.mean;
  if (r.n < 2) return r;
  double ss = 0;
  for (double v : values) ss += (v - r.mean) * (v - r.mean);
  const double sd = std::sqrt(ss / (r.n - 1));
  // Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom; 1.96 beyond.
  static constexpr double kT[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                  2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                  2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                  2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  const int df = r.n - 1;
  const double t = df <= 30 ? kT[df - 1] : 1.96;
  const double half = t * sd / std::sqrt(static_cast<double>(r.n));
  r.lo = r.mean - half;
  r.hi = r.mean + half;
  return r;
}

bool Separated(const Interval& a, const Interval& b) {
  return a.n >= 2 && b.n >= 2 && (a.lo > b.hi || b.lo > a.hi);
}

}  // namespace epara::workload
