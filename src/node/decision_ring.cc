#include "node/decision_ring.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace epara::node {

DecisionRing::DecisionRing(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {}

void DecisionRing::Push(router::RouteDecision d) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ring_.size() < capacity_) {
    ring_.push_back(std::move(d));
  } else {
    ring_[next_] = std::move(d);
  }
  next_ = (next_ + 1) % capacity_;
  ++total_;
}

std::vector<router::RouteDecision> DecisionRing::Snapshot(const std::string& model,
                                                          size_t limit) const {
  std::vector<router::RouteDecision> out;
  std::lock_guard<std::mutex> lock(mu_);
  const size_t n = ring_.size();
  const size_t oldest = n < capacity_ ? 0 : next_;
  for (size_t k = 0; k < n; ++k) {
    const router::RouteDecision& d = ring_[(oldest + k) % n];
    if (model.empty() || d.model == model) out.push_back(d);
  }
  if (limit > 0 && out.size() > limit)
    out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(limit));
  return out;
}

uint64_t DecisionRing::total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

std::string ExplainHeader(const router::RouteDecision& d) {
  using nlohmann::json;
  json candidates = json::array();
  for (const router::RouteDecision::Option& o : d.options)
    candidates.push_back({{"node", o.node},
                          {"predicted_ms", o.predicted_ms},
                          {"wait_ms", o.wait_ms},
                          {"service_ms", o.service_ms},
                          {"measured", o.measured},
                          {"ready", o.ready}});
  json j = {{"routing", d.mode},
            {"slo_ms", d.slo_ms},
            {"outcome", d.outcome},
            {"chosen", d.chosen},
            {"candidates", candidates}};
  if (!d.reason.empty()) j["reason"] = d.reason;
  return j.dump();
}

std::string DecisionsJson(const DecisionRing& ring, const std::string& model, size_t limit) {
  using nlohmann::json;
  json out = {{"capacity", ring.capacity()}, {"total", ring.total()}};
  json list = json::array();
  for (const router::RouteDecision& d : ring.Snapshot(model, limit)) {
    json options = json::array();
    for (const router::RouteDecision::Option& o : d.options)
      options.push_back({{"node", o.node},
                         {"local", o.local},
                         {"ready", o.ready},
                         {"network_ms", o.network_ms},
                         {"expected_wait_ms", o.wait_ms},
                         {"service_ms", o.service_ms},
                         {"service_measured", o.measured},
                         {"outstanding", o.outstanding},
                         {"predicted_ms", o.predicted_ms}});
    list.push_back({{"at_ms", d.at_ms},
                    {"model", d.model},
                    {"routing", d.mode},
                    {"slo_ms", d.slo_ms},
                    {"llm", d.llm},
                    {"outcome", d.outcome},
                    {"chosen", d.chosen},
                    {"reason", d.reason},
                    {"candidates", std::move(options)}});
  }
  out["decisions"] = std::move(list);
  return out.dump();
}

}  // namespace epara::node
