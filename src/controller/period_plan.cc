#include "controller/period_plan.h"

#include "core/decision_counters.h"

#include <algorithm>

namespace epara::controller {

void ObserveIngress(const std::string& node, const std::map<std::string, uint64_t>& counts,
                    double elapsed_s, double smoothing, std::map<std::string, uint64_t>* last,
                    DemandTable* demand, std::map<std::string, uint64_t>* entered) {
  for (const auto& [model, n] : counts) {
    uint64_t& before = (*last)[model];
    if (elapsed_s > 0 && n >= before) {
      (*demand)[model][node].Observe(static_cast<double>(n - before) / elapsed_s, smoothing);
      if (entered) (*entered)[model] += n - before;
    }
    before = n;
  }
}

Status PlanPeriod(const PeriodInput& in, PeriodPlan* out) {
  CountDecision(Decisions().plan_period);
  *out = PeriodPlan{};
  double max_gflops = 0;
  for (const PeriodInput::Node& n : in.nodes) max_gflops = std::max(max_gflops, n.gflops);
  if (max_gflops <= 0) max_gflops = 1;
  std::vector<scheduler::NodeState> nodes;
  for (const PeriodInput::Node& n : in.nodes)
    nodes.push_back({n.id, n.gflops / max_gflops, n.memory_bytes});

  std::set<std::string> names;
  for (const auto& [s, _] : in.current) names.insert(s);
  if (in.demand)
    for (const auto& [s, _] : *in.demand) names.insert(s);
  std::map<std::string, int64_t> memory;
  for (const std::string& name : names) {
    if (in.llms.count(name) || in.split.count(name) || !in.current.count(name))
      continue;  // only what runs can move; LLMs and splits stay
    scheduler::ServiceState s;
    const allocator::Profile* p = nullptr;
    if (in.profiles)
      for (const allocator::Profile& x : *in.profiles)
        if (x.model == name) {
          p = &x;
          break;
        }
    if (p && p->ForCategorizer().solo_ms > 0) {
      s = scheduler::ServiceFromProfile(*p, /*slo_ms=*/0,
                                        p->speed_gflops > 0 ? p->speed_gflops / max_gflops : 1);
    } else {
      s.name = name;
      auto o = in.observed_ms.find(name);
      s.solo_ms = o != in.observed_ms.end() && o->second > 0 ? o->second : 100;
      s.rps_at_speed_1 = 1000 / s.solo_ms;
    }
    memory[name] = s.memory_bytes;
    if (in.demand)
      if (auto d = in.demand->find(name); d != in.demand->end())
        for (const auto& [ingress, e] : d->second)
          s.demand[ingress] = e.Provisioned(in.burst_headroom);
    out->services.push_back(std::move(s));
  }
  scheduler::Placement now_placed;
  for (const auto& [s, where] : in.current)
    for (const std::string& n : where) now_placed[s][n] = 1;
  out->placed = scheduler::Place(nodes, out->services, now_placed, in.placement);
  for (const scheduler::ServiceState& s : out->services) {
    auto p = out->placed.placement.find(s.name);
    if (p != out->placed.placement.end())
      for (const auto& [n, _] : p->second) out->target[s.name].insert(n);
    if (out->target[s.name].empty()) out->target[s.name] = in.current.at(s.name);  // keep one
  }
  for (const auto& [s, where] : in.current)
    if (!out->target.count(s)) out->target[s] = where;  // LLMs and anything not placed stay

  // Free memory per node: its budget less the instances it runs (those with a known footprint),
  // so loads wait for the unloads that make room (each node also refuses a load over budget).
  std::map<std::string, int64_t> free;
  for (const scheduler::NodeState& n : nodes) {
    if (n.memory_bytes <= 0) continue;
    int64_t used = 0;
    for (const auto& [s, where] : in.current)
      if (where.count(n.id) && memory.count(s)) used += memory.at(s);
    free[n.id] = n.memory_bytes - used;
  }
  return scheduler::PlanDeployment(in.current, out->target, memory, free, &out->steps);
}

}  // namespace epara::controller
