#include "scheduler/placement.h"

#include "core/decision_counters.h"

#include <algorithm>
#include <cstdio>
#include <queue>

namespace epara::scheduler {
namespace {

struct Model {
  const std::vector<NodeState>& nodes;
  const std::vector<ServiceState>& services;
  const PlacementConfig& config;
  std::vector<double> demand;                     // per service, all ingresses
  std::vector<std::vector<double>> local_demand;  // [service][node]: demand entering there
  std::vector<std::vector<double>> rate;          // [service][node]: one unit's rate (0: no SLO)

  Model(const std::vector<NodeState>& n, const std::vector<ServiceState>& s,
        const PlacementConfig& c)
      : nodes(n), services(s), config(c) {
    std::map<std::string, size_t> index;
    for (size_t j = 0; j < nodes.size(); ++j) index[nodes[j].id] = j;
    demand.assign(services.size(), 0);
    local_demand.assign(services.size(), std::vector<double>(nodes.size(), 0));
    rate.assign(services.size(), std::vector<double>(nodes.size(), 0));
    const int units = std::max(1, config.units);
    for (size_t i = 0; i < services.size(); ++i) {
      const ServiceState& sv = services[i];
      for (const auto& [ingress, rps] : sv.demand) {
        demand[i] += rps;
        if (auto it = index.find(ingress); it != index.end()) local_demand[i][it->second] += rps;
      }
      for (size_t j = 0; j < nodes.size(); ++j) {
        const double speed = nodes[j].speed;
        const bool meets_slo = speed > 0 && (sv.slo_ms <= 0 || sv.solo_ms / speed <= sv.slo_ms);
        rate[i][j] = meets_slo ? sv.rps_at_speed_1 * speed / units : 0;
      }
    }
  }
};

// The incremental state of a placement under construction.
struct State {
  std::vector<double> capacity;                // per service
  std::vector<std::vector<int>> units;         // [service][node]
  std::vector<std::vector<double>> local_cap;  // [service][node]
  std::vector<int> node_units;                 // per node, used
  std::vector<int64_t> node_memory;            // per node, used

  explicit State(const Model& m)
      : capacity(m.services.size(), 0),
        units(m.services.size(), std::vector<int>(m.nodes.size(), 0)),
        local_cap(m.services.size(), std::vector<double>(m.nodes.size(), 0)),
        node_units(m.nodes.size(), 0),
        node_memory(m.nodes.size(), 0) {}

  bool Fits(const Model& m, size_t s, size_t n) const {
    if (node_units[n] >= std::max(1, m.config.units)) return false;
    if (units[s][n] > 0) return true;  // the instance is there already
    const int64_t budget = m.nodes[n].memory_bytes;
    return budget <= 0 || node_memory[n] + m.services[s].memory_bytes <= budget;
  }

  // G's increase when service s gets one more unit of node n (without hysteresis).
  double Gain(const Model& m, size_t s, size_t n) const {
    const double r = m.rate[s][n];
    const double d = m.demand[s];
    double g = std::min(d, capacity[s] + r) - std::min(d, capacity[s]);
    const double ld = m.local_demand[s][n];
    g += m.config.locality * (std::min(ld, local_cap[s][n] + r) - std::min(ld, local_cap[s][n]));
    return g;
  }

  void Add(const Model& m, size_t s, size_t n) {
    if (units[s][n] == 0) node_memory[n] += m.services[s].memory_bytes;
    ++units[s][n];
    ++node_units[n];
    capacity[s] += m.rate[s][n];
    local_cap[s][n] += m.rate[s][n];
  }

  double Value(const Model& m) const {
    double v = 0;
    for (size_t s = 0; s < capacity.size(); ++s) {
      v += std::min(m.demand[s], capacity[s]);
      for (size_t n = 0; n < local_cap[s].size(); ++n)
        v += m.config.locality * std::min(m.local_demand[s][n], local_cap[s][n]);
    }
    return v;
  }
};

}  // namespace

ServiceState ServiceFromProfile(const allocator::Profile& profile, double slo_ms,
                                double time_scale) {
  ServiceState s;
  s.name = profile.model;
  s.memory_bytes = profile.memory_bytes;
  s.solo_ms = profile.ForCategorizer().solo_ms * time_scale;
  s.slo_ms = slo_ms;
  if (s.solo_ms > 0) s.rps_at_speed_1 = 1000.0 / s.solo_ms;
  for (const allocator::BatchPoint& b : profile.batches) {
    const double ms = b.latency.median_ms * time_scale;
    if (ms > 0 && (slo_ms <= 0 || ms <= slo_ms / 2))
      s.rps_at_speed_1 = std::max(s.rps_at_speed_1, 1000.0 * b.batch / ms);
  }
  return s;
}

double PredictedGoodput(const std::vector<NodeState>& nodes,
                        const std::vector<ServiceState>& services, const Placement& placement,
                        const PlacementConfig& config) {
  const Model m(nodes, services, config);
  State st(m);
  for (size_t s = 0; s < services.size(); ++s) {
    auto p = placement.find(services[s].name);
    if (p == placement.end()) continue;
    for (size_t n = 0; n < nodes.size(); ++n)
      if (auto u = p->second.find(nodes[n].id); u != p->second.end())
        for (int k = 0; k < u->second; ++k) st.Add(m, s, n);
  }
  return st.Value(m);
}

PlacementResult Place(const std::vector<NodeState>& nodes,
                      const std::vector<ServiceState>& services, const Placement& current,
                      const PlacementConfig& config) {
  CountDecision(Decisions().place);
  const Model m(nodes, services, config);
  State st(m);
  // Units each (service, node) holds now: the first that many units of the pair earn `keep`.
  std::vector<std::vector<int>> kept(services.size(), std::vector<int>(nodes.size(), 0));
  for (size_t s = 0; s < services.size(); ++s)
    if (auto p = current.find(services[s].name); p != current.end())
      for (size_t n = 0; n < nodes.size(); ++n)
        if (auto u = p->second.find(nodes[n].id); u != p->second.end()) kept[s][n] = u->second;
  auto score = [&](size_t s, size_t n) {
    return st.Gain(m, s, n) + (st.units[s][n] < kept[s][n] ? config.keep : 0.0);
  };

  struct Item {
    double key;
    uint32_t s, n;
    bool operator<(const Item& o) const {
      if (key != o.key) return key < o.key;
      if (s != o.s) return s > o.s;  // ties: lower indices first (deterministic)
      return n > o.n;
    }
  };
  // One heap entry per (service, node) pair: after an item is taken, the pair's next unit goes
  // back in with its new gain (the same pair's units are interchangeable).
  std::vector<Item> items;
  items.reserve(services.size() * nodes.size());
  for (uint32_t s = 0; s < services.size(); ++s)
    for (uint32_t n = 0; n < nodes.size(); ++n) {
      const double k = score(s, n);
      if (k > 0) items.push_back({k, s, n});
    }
  std::priority_queue<Item> heap(std::less<Item>(), std::move(items));
  PlacementResult result;
  while (!heap.empty()) {
    Item top = heap.top();
    heap.pop();
    if (!st.Fits(m, top.s, top.n)) continue;
    const double fresh = score(top.s, top.n);
    ++result.evaluations;
    if (fresh <= 0) continue;
    if (!heap.empty() && fresh < heap.top().key) {
      heap.push({fresh, top.s, top.n});  // stale: its real gain is lower; compare again later
      continue;
    }
    st.Add(m, top.s, top.n);
    if (st.Fits(m, top.s, top.n)) {
      const double next = score(top.s, top.n);
      if (next > 0) heap.push({next, top.s, top.n});
    }
  }

  for (size_t s = 0; s < services.size(); ++s) {
    const ServiceState& sv = services[s];
    ServiceOutcome o;
    o.demand = m.demand[s];
    o.capacity = st.capacity[s];
    o.predicted_goodput = std::min(o.demand, o.capacity);
    std::map<std::string, int> where;
    for (size_t n = 0; n < nodes.size(); ++n)
      if (st.units[s][n] > 0) where[nodes[n].id] = st.units[s][n];
    const auto old = current.find(sv.name);
    for (const auto& [node, u] : where)
      if (old == current.end() || !old->second.count(node)) o.added.push_back(node);
    if (old != current.end())
      for (const auto& [node, u] : old->second)
        if (!where.count(node)) o.removed.push_back(node);
    char buf[240];
    if (o.demand <= 0) {
      std::snprintf(buf, sizeof buf, "no demand");
    } else if (o.capacity <= 0) {
      std::snprintf(buf, sizeof buf,
                    "no node can hold it within its SLO and memory: %.1f req/s unserved", o.demand);
    } else {
      std::snprintf(
          buf, sizeof buf, "%d unit(s) on %zu node(s) serve %.1f of %.1f req/s (%.0f%%)",
          [&] {
            int u = 0;
            for (const auto& [_, k] : where) u += k;
            return u;
          }(),
          where.size(), o.predicted_goodput, o.demand, 100 * o.predicted_goodput / o.demand);
    }
    o.why = buf;
    std::string gone;
    for (const std::string& n : o.removed)
      if (std::none_of(nodes.begin(), nodes.end(), [&](const NodeState& x) { return x.id == n; }))
        gone += (gone.empty() ? "" : ", ") + n;
    if (!gone.empty()) {
      o.why += "; re-planned without " + gone + " (gone)";
    } else if (!o.added.empty() || !o.removed.empty()) {
      std::snprintf(buf, sizeof buf, "%.2f", config.keep);
      o.why += old == current.end() || old->second.empty()
                   ? std::string("; placed")
                   : "; moved: the predicted gain beats the hysteresis of " + std::string(buf) +
                         " req/s per kept unit";
    }
    result.predicted_goodput += o.predicted_goodput;
    if (!where.empty()) result.placement[sv.name] = std::move(where);
    result.services[sv.name] = std::move(o);
  }
  return result;
}

}  // namespace epara::scheduler
