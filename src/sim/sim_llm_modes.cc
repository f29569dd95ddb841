// The controller's LLM modes in the simulator (issue 24): every controller period the real
// controller::PlanLlmModes runs over what the controller would read from the node records (the
// listed nodes, their memory in use, each LLM's whole instances, pipeline heads and stages), and
// its steps are carried out in their order, as ExecuteLlmModeSteps does one HTTP call after the
// other: each load takes SimOptions::load_ms before the next step, an unload takes effect at once
// (a head drains what it runs). Loading a stage or a head writes the node's spec.pipeline, from
// which the head's chain is built (sim_pipeline.cc BuildChain).
#include <algorithm>
#include <cstdio>

#include "sim/sim_cluster.h"

namespace epara::sim::internal {

int64_t Cluster::MemoryInUse(const Node& n) const {
  int64_t used = 0;
  for (const auto& [model, inst] : n.instances) {
    const SimModel& m = spec_.models[model];
    const auto p = n.spec.pipeline.find(m.name);
    if (m.llm && m.llm_size.layers > 0 && p != n.spec.pipeline.end() && p->second.stage == 0)
      used += m.llm_size.part_bytes(0, p->second.end_layer > 0 ? p->second.end_layer : m.layers);
    else
      used += m.llm && m.llm_size.layers > 0 ? m.llm_size.whole_bytes() : m.memory_bytes;
  }
  for (const auto& [name, p] : n.spec.pipeline) {
    if (p.stage == 0) continue;  // a head: counted with its instance
    const auto it = model_index_.find(name);
    if (it == model_index_.end()) continue;
    const SimModel& m = spec_.models[it->second];
    used += m.llm_size.part_bytes(p.first_layer, p.end_layer > 0 ? p.end_layer : m.layers);
  }
  return used;
}

void Cluster::LlmModesPeriod() {
  controller::LlmModeInput in;
  in.demand_modes = spec_.options.llm_expand;
  for (const Node& n : nodes_)
    if (n.listed)
      in.nodes.push_back({n.spec.id, n.spec.gflops, n.spec.memory_bytes, MemoryInUse(n)});
  for (size_t mi = 0; mi < spec_.models.size(); ++mi) {
    const SimModel& m = spec_.models[mi];
    if (!m.llm || m.llm_size.layers <= 0) continue;
    const int model = static_cast<int>(mi);
    controller::LlmModeInput::Llm l;
    l.name = m.name;
    l.size = m.llm_size;
    for (const Node& n : nodes_) {
      if (!n.listed) continue;
      if (n.file_pipeline.count(m.name)) l.declared = true;
      const auto p = n.spec.pipeline.find(m.name);
      const auto inst = n.instances.find(model);
      const bool serving = inst != n.instances.end() && !inst->second.draining;
      if (p != n.spec.pipeline.end() && p->second.stage > 0) {
        l.stages.push_back({n.spec.id, p->second.first_layer,
                            p->second.end_layer > 0 ? p->second.end_layer : m.layers,
                            p->second.next});
      } else if (serving && !inst->second.chain.empty() && p != n.spec.pipeline.end()) {
        l.heads.push_back({n.spec.id, 0, p->second.end_layer, p->second.next});
      } else if (serving) {
        l.whole.insert(n.spec.id);
      }
    }
    if (!l.whole.empty() || !l.heads.empty()) llms_seen_.insert(model);
    l.wanted = llms_seen_.count(model) > 0;
    // Measured demand: the smoothed rate over its ingresses, and the share of the requests that
    // entered since the last period and ended that met the SLO (the nodes' counters).
    if (auto d = demand_.find(m.name); d != demand_.end())
      for (const auto& [ingress, estimate] : d->second) l.demand_rps += estimate.mean();
    uint64_t entered = 0, met = 0;
    for (const Node& n : nodes_) {
      if (!n.up) continue;  // its counters cannot be read
      const auto in_it = n.ingress.find(model);
      const auto met_it = n.ingress_met.find(model);
      const uint64_t now_in = in_it == n.ingress.end() ? 0 : in_it->second;
      const uint64_t now_met = met_it == n.ingress_met.end() ? 0 : met_it->second;
      auto& [last_in, last_met] = llm_counts_[n.index][model];
      if (now_in >= last_in && now_met >= last_met) {
        entered += now_in - last_in;
        met += now_met - last_met;
      }
      last_in = now_in;
      last_met = now_met;
    }
    l.attainment = entered > 0 ? std::min(1.0, double(met) / double(entered)) : 1;
    if (auto b = llm_built_for_.find(model); b != llm_built_for_.end()) l.built_for_rps = b->second;
    in.llms.push_back(std::move(l));
  }
  const std::vector<controller::LlmModeStep> steps = controller::PlanLlmModes(in);
  const double now = q_.now();
  double at = 0;  // the steps run one after the other, each load a load time
  for (const controller::LlmModeStep& step : steps) {
    char line[64];
    std::snprintf(line, sizeof line, "%.1f s: controller ", now / 1e3);
    stats_->log.push_back(line + controller::DescribeLlmStep(step));
    ++stats_->deploy_steps;
    const int node = node_index_.at(step.node);
    const int model = model_index_.at(step.model);
    using Kind = controller::LlmModeStep::Kind;
    if (step.kind == Kind::kLoadHead && step.for_demand_rps > 0)
      llm_built_for_[model] = step.for_demand_rps;
    if (step.kind == Kind::kUnloadHead) llm_built_for_.erase(model);
    const bool load = step.kind == Kind::kLoadWhole || step.kind == Kind::kLoadHead ||
                      step.kind == Kind::kLoadStage;
    q_.After(at, [this, step, node, model, inc = nodes_[node].incarnation] {
      Node& n = nodes_[node];
      if (!n.up || n.incarnation != inc) {  // down, its record not expired yet: the call fails
        char line[160];
        std::snprintf(line, sizeof line, "%.1f s: controller step on %s failed: the node is down",
                      q_.now() / 1e3, n.spec.id.c_str());
        stats_->log.push_back(line);
        return;
      }
      const std::string& name = spec_.models[model].name;
      switch (step.kind) {
        case Kind::kLoadWhole:
          n.spec.pipeline.erase(name);
          LoadInstance(node, model, spec_.options.load_ms);
          break;
        case Kind::kLoadStage:
          n.spec.pipeline[name] = SimStage{1, step.first_layer, step.end_layer, step.next, 0};
          break;
        case Kind::kLoadHead:
          n.spec.pipeline[name] = SimStage{0, 0, step.end_layer, step.next, step.depth};
          LoadInstance(node, model, spec_.options.load_ms);
          break;
        case Kind::kUnloadHead: {
          n.spec.pipeline.erase(name);  // the draining instance keeps the chain it was built with
          auto it = n.instances.find(model);
          if (it == n.instances.end()) break;
          Advertise(node, model, false);
          it->second.draining = true;
          FinishDrain(n, model);
          break;
        }
        case Kind::kUnloadStage:
          n.spec.pipeline.erase(name);
          break;
      }
    });
    if (load) at += spec_.options.load_ms;
  }
}

}  // namespace epara::sim::internal
