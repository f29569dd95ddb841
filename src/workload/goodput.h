// SLO accounting for the goodput benchmark (issue 7). Pure functions over request logs.
//
// A request meets its SLO when it was answered successfully and every latency its service has an
// SLO for is within it (times the SLO scale): end-to-end, TTFT, and TPOT (mean time per output
// token after the first). Rejected, failed and timed-out requests are misses.
//
// Goodput, as DistServe defines it: the highest request rate at which at least `attainment`
// (90%, also reported at 99%) of requests meet their SLO, found by a rate sweep. Between the
// highest passing and the lowest failing swept rate the attainment is interpolated linearly.
#pragma once

#include <vector>

namespace epara::workload {

struct RequestRecord {
  double sent_s = 0;  // scheduled send time, from the run's start
  bool ok = false;    // answered successfully (rejected / failed / timed out: false)
  double e2e_ms = 0;
  double ttft_ms = 0;  // LLM; 0 otherwise
  double tpot_ms = 0;  // LLM; 0 otherwise
};

struct Slo {
  double e2e_ms = 0;  // 0: no SLO on this latency
  double ttft_ms = 0;
  double tpot_ms = 0;
};

bool MeetsSlo(const RequestRecord& r, const Slo& slo, double scale = 1);
// Share of `log` meeting the SLO (0 for an empty log).
double SloAttainment(const std::vector<RequestRecord>& log, const Slo& slo, double scale = 1);
// SLO-meeting requests per second among those sent in [from_s, to_s).
double SloMeetingRate(const std::vector<RequestRecord>& log, const Slo& slo, double from_s,
                      double to_s, double scale = 1);

struct SweepPoint {
  double rate = 0;        // offered requests/s
  double attainment = 0;  // 0..1 at that rate
};

// The highest rate with attainment >= `target` (interpolated between sweep points; the sweep
// need not be sorted). 0 when even the lowest swept rate misses it; the highest swept rate when
// none misses it (the sweep did not reach the limit).
double Goodput(const std::vector<SweepPoint>& sweep, double target = 0.9);

// The mean of repeated measurements with its 95% confidence interval (Student's t with n - 1
// degrees of freedom: mean +- t * sd / sqrt(n)). One value: lo = hi = mean; none: all 0.
struct Interval {
  double mean = 0, lo = 0, hi = 0;
  int n = 0;
};
Interval MeanInterval95(const std::vector<double>& values);
// True when both intervals come from repeats (n >= 2) and do not overlap: a difference the runs
// measured, not their noise.
bool Separated(const Interval& a, const Interval& b);

}  // namespace epara::workload
