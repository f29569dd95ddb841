#include "metrics/slo_window.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace epara::metrics {

using json = nlohmann::json;

int LatencyBucket(double latency_ms) {
  if (!(latency_ms >= 1)) return 0;  // also NaN
  const int k = static_cast<int>(std::floor(std::log(latency_ms) / std::log(1.25))) + 1;
  return std::min(k, kLatencyBounds);
}

double LatencyBound(int k) {
  return k >= kLatencyBounds ? std::numeric_limits<double>::infinity() : std::pow(1.25, k);
}

void SloWindow::Record(const std::string& model, double now_s, double latency_ms, bool ok,
                       bool met) {
  const int64_t epoch = static_cast<int64_t>(std::floor(now_s / kSloBucketSeconds));
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = models_[model][static_cast<size_t>(epoch % kSloBuckets)];
  if (b.epoch != epoch) b = Bucket{epoch};
  ++b.requests;
  if (!ok) {
    ++b.failed;
    return;
  }
  if (met) {
    ++b.met;
    ++met_totals_[model];
  }
  ++b.hist[static_cast<size_t>(LatencyBucket(latency_ms))];
}

std::map<std::string, uint64_t> SloWindow::MetTotals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return met_totals_;
}

json SloWindow::Json(double now_s, double window_s) const {
  const int64_t now_epoch = static_cast<int64_t>(std::floor(now_s / kSloBucketSeconds));
  const int n =
      std::clamp(static_cast<int>(std::ceil(window_s / kSloBucketSeconds)), 1, kSloBuckets);
  json out = {{"window_s", n * kSloBucketSeconds},
              {"bucket_s", kSloBucketSeconds},
              {"models", json::object()}};
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [model, buckets] : models_) {
    uint64_t requests = 0, met = 0, failed = 0;
    std::vector<uint64_t> hist(kLatencyBounds + 1, 0);
    json series = json::array();
    for (int back = n - 1; back >= 0; --back) {  // oldest first
      const int64_t e = now_epoch - back;
      const Bucket& b =
          buckets[static_cast<size_t>(((e % kSloBuckets) + kSloBuckets) % kSloBuckets)];
      if (b.epoch != e) {
        series.push_back({{"requests", 0}, {"met", 0}});
        continue;
      }
      requests += b.requests;
      met += b.met;
      failed += b.failed;
      for (size_t k = 0; k < hist.size(); ++k) hist[k] += b.hist[k];
      series.push_back({{"requests", b.requests}, {"met", b.met}});
    }
    if (requests == 0) continue;
    out["models"][model] = {{"requests", requests},
                            {"met", met},
                            {"failed", failed},
                            {"latency_hist", hist},
                            {"series", series}};
  }
  return out;
}

void MergeSloJson(const json& other, json* into) {
  if (!other.is_object() || !other.contains("models") || !other["models"].is_object()) return;
  if (!into->contains("models")) (*into)["models"] = json::object();
  for (const auto& [model, m] : other["models"].items()) {
    json& dst = (*into)["models"][model];
    if (dst.is_null()) {
      dst = m;
      continue;
    }
    for (const char* k : {"requests", "met", "failed"})
      dst[k] = dst.value(k, uint64_t{0}) + m.value(k, uint64_t{0});
    const json& h = m["latency_hist"];
    json& dh = dst["latency_hist"];
    for (size_t k = 0; k < h.size() && k < dh.size(); ++k)
      dh[k] = dh[k].get<uint64_t>() + h[k].get<uint64_t>();
    const json& s = m["series"];
    json& ds = dst["series"];
    // Newest to newest: both end at their node's current bucket.
    for (size_t k = 1; k <= s.size() && k <= ds.size(); ++k) {
      json& d = ds[ds.size() - k];
      const json& o = s[s.size() - k];
      d["requests"] = d["requests"].get<uint64_t>() + o["requests"].get<uint64_t>();
      d["met"] = d["met"].get<uint64_t>() + o["met"].get<uint64_t>();
    }
  }
}

void SummarizeSloJson(json* window) {
  const double seconds = window->value("window_s", kSloBuckets * kSloBucketSeconds);
  for (auto& [model, m] : (*window)["models"].items()) {
    const uint64_t requests = m.value("requests", uint64_t{0});
    const uint64_t met = m.value("met", uint64_t{0});
    m["attainment"] = requests ? static_cast<double>(met) / requests : 0.0;
    m["goodput_rps"] = seconds > 0 ? met / seconds : 0.0;
    const json& h = m["latency_hist"];
    uint64_t total = 0;
    for (const auto& c : h) total += c.get<uint64_t>();
    for (const auto& [name, q] : {std::pair{"p50_ms", 0.5}, {"p90_ms", 0.9}, {"p99_ms", 0.99}}) {
      if (total == 0) {
        m[name] = nullptr;
        continue;
      }
      const double rank = q * static_cast<double>(total);
      uint64_t seen = 0;
      int k = 0;
      for (; k < static_cast<int>(h.size()); ++k) {
        seen += h[static_cast<size_t>(k)].get<uint64_t>();
        if (static_cast<double>(seen) >= rank) break;
      }
      const double bound = LatencyBound(std::min(k, kLatencyBounds));
      m[name] = std::isinf(bound) ? json(nullptr) : json(bound);
    }
  }
}

}  // namespace epara::metrics
