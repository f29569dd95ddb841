// Live SLO attainment, goodput and latency percentiles over the last minutes (issue 26: the
// dashboard reads them from the nodes' own state, no Prometheus server). A node records every
// request that entered the cluster through it (wherever it ran) in a SloWindow; GET /v1/slo
// returns the window as JSON, and ?scope=cluster merges every node's (MergeSloJson), since each
// request is recorded once, at its ingress.
//
// The window is kBuckets buckets of kBucketSeconds each (5 minutes), per model: requests, those
// that met their SLO, failures, and a latency histogram on fixed log-spaced bounds (kLatencyBounds:
// 1 ms x 1.25^k), so windows of different nodes merge by adding counts and percentiles come from
// the merged histogram (to within one bucket: 25%).
//
// Latency is what the SLO judges: end to end for a whole response, time to the first streamed
// chunk for a stream (an LLM's TTFT).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace epara::metrics {

inline constexpr int kSloBuckets = 30;
inline constexpr double kSloBucketSeconds = 10;
inline constexpr int kLatencyBounds = 64;  // bucket k: latency < 1 ms x 1.25^k; one more: beyond

// The histogram bucket a latency falls in (0..kLatencyBounds).
int LatencyBucket(double latency_ms);
// The upper bound of bucket k in ms (infinity for the last).
double LatencyBound(int k);

class SloWindow {
 public:
  // One request that ended at `now_s` (any monotonic clock in seconds): `ok` false for an error
  // answer (never met), `met` whether it met its SLO.
  void Record(const std::string& model, double now_s, double latency_ms, bool ok, bool met);

  // The last `window_s` (at most the whole window) as JSON:
  //   {"window_s": W, "bucket_s": 10, "models": {M: {"requests", "met", "failed",
  //    "latency_hist": [counts per LatencyBucket], "series": [{"requests", "met"} per bucket,
  //    oldest first]}}}
  nlohmann::json Json(double now_s, double window_s) const;

  // Requests that met their SLO since the window was made, per model: cumulative counters (the
  // controller differences them between periods to observe goodput, as it does ingress counts).
  std::map<std::string, uint64_t> MetTotals() const;

 private:
  struct Bucket {
    int64_t epoch = -1;  // now_s / kSloBucketSeconds when it was (re)started
    uint64_t requests = 0, met = 0, failed = 0;
    std::array<uint32_t, kLatencyBounds + 1> hist{};
  };
  mutable std::mutex mu_;
  std::map<std::string, std::array<Bucket, kSloBuckets>> models_;  // GUARDED_BY(mu_)
  std::map<std::string, uint64_t> met_totals_;                     // GUARDED_BY(mu_)
};

// Adds `other`'s counts into `into` (both in SloWindow::Json's form; models either lacks are
// taken as they are). Series are aligned newest to newest. Throws nlohmann::json::exception when
// `other` has the right keys with the wrong types (the caller leaves such a window out).
void MergeSloJson(const nlohmann::json& other, nlohmann::json* into);

// Per model of a (merged) window: requests, attainment (met / requests), goodput (met requests
// per second of the window), p50/p90/p99 latency in ms (a bucket's upper bound; null without
// requests). Adds these fields next to the counts, in place.
void SummarizeSloJson(nlohmann::json* window);

}  // namespace epara::metrics
