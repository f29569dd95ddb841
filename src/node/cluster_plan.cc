#include "node/cluster_plan.h"

#include <algorithm>

#include "allocator/pipeline_split.h"

namespace epara::node {

std::vector<allocator::DeviceBudget> ClusterDevices(const ClusterConfig& cluster) {
  std::vector<allocator::DeviceBudget> devices;
  for (const NodeConfig& n : cluster.nodes)
    for (const DeviceConfig& d : n.devices)
      devices.push_back({n.id, d.id, d.memory_mb << 20, d.cpu_quota});
  return devices;
}

std::vector<PlannedService> PlanCluster(const std::vector<allocator::Profile>& profiles,
                                        const std::vector<ModelDescriptor>& descriptors,
                                        const std::map<std::string, double>& rates,
                                        const allocator::CategorizerConfig& config,
                                        ClusterConfig* cluster, bool apply) {
  const std::vector<allocator::DeviceBudget> devices = ClusterDevices(*cluster);
  std::vector<PlannedService> out;
  for (const allocator::Profile& p : profiles) {
    auto d = std::find_if(descriptors.begin(), descriptors.end(),
                          [&](const ModelDescriptor& x) { return x.name == p.model; });
    if (d == descriptors.end()) continue;
    PlannedService s;
    s.model = p.model;
    s.spec.name = p.model;
    s.spec.task = d->task == TaskType::kLlm ? allocator::Task::kLlm : allocator::Task::kVision;
    s.spec.slo_ms = d->task == TaskType::kLlm ? d->slo.ttft_ms : d->slo.latency_ms;
    auto rate = rates.find(p.model);
    s.category = allocator::Categorize(s.spec, p.ForCategorizer(), devices,
                                       {rate == rates.end() ? 0.0 : rate->second}, config);
    s.plan = allocator::PlanService(s.category, p, s.spec.slo_ms, d->batching);
    if (s.plan.split > 0) {
      // A spatial split spreads over every node that serves the model: the tiles are sized by
      // each one's predicted speed and a node that cannot help gets none (router/split_plan.h),
      // while the categorizer's count ignores the tiles' halo and slower devices.
      const int hosts = NodesServing(*cluster, p.model);
      if (hosts > s.plan.split)
        s.plan.note += "; spread over up to " + std::to_string(hosts) +
                       " nodes (every node serving it; tiles sized by speed)";
      s.plan.split = std::max(s.plan.split, hosts);
    }
    // LLMs batch continuously in their engine; the plan's batching applies to the other tasks.
    if (apply && d->task != TaskType::kLlm)
      for (NodeConfig& n : cluster->nodes)
        if (n.serve_models.empty() ||
            std::count(n.serve_models.begin(), n.serve_models.end(), p.model) > 0) {
          n.batching[p.model] = s.plan.batching;
          if (s.plan.split > 0 && d->task == TaskType::kSegmentation)
            n.split[p.model] = s.plan.split;
        }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<VariantPlan> PlanVariants(const std::vector<allocator::Profile>& profiles,
                                      const std::vector<ModelDescriptor>& descriptors,
                                      const ClusterConfig& cluster) {
  std::map<std::string, std::vector<allocator::VariantCandidate>> services;
  std::map<std::string, double> slo;
  for (const ModelDescriptor& d : descriptors) {
    if (!d.variant) continue;
    auto p = std::find_if(profiles.begin(), profiles.end(),
                          [&](const allocator::Profile& x) { return x.model == d.name; });
    if (p == profiles.end()) continue;
    services[d.variant->of].push_back(
        {d.name, d.variant->accuracy, d.variant->min_accuracy, p->ForCategorizer()});
    const double ms = d.task == TaskType::kLlm ? d.slo.ttft_ms : d.slo.latency_ms;
    if (ms > 0 && (slo[d.variant->of] == 0 || ms < slo[d.variant->of])) slo[d.variant->of] = ms;
  }
  std::vector<VariantPlan> out;
  const std::vector<allocator::DeviceBudget> devices = ClusterDevices(cluster);
  for (const auto& [service, variants] : services)
    for (const NodeConfig& n : cluster.nodes) {
      auto dev = std::find_if(devices.begin(), devices.end(),
                              [&](const allocator::DeviceBudget& d) { return d.node == n.id; });
      if (dev == devices.end()) continue;
      out.push_back({service, n.id, allocator::ChooseVariant(variants, *dev, slo[service])});
    }
  return out;
}

std::vector<std::string> ApplyVariants(const std::vector<VariantPlan>& plan,
                                       ClusterConfig* cluster) {
  std::vector<std::string> lines;
  for (NodeConfig& n : cluster->nodes) {
    std::vector<std::string> serve;
    for (const std::string& m : n.serve_models) {
      auto v = std::find_if(plan.begin(), plan.end(),
                            [&](const VariantPlan& p) { return p.service == m && p.node == n.id; });
      if (v == plan.end()) {
        serve.push_back(m);
        continue;
      }
      if (!v->choice.model.empty()) serve.push_back(v->choice.model);
      lines.push_back(n.id + ": " + m + " -> " +
                      (v->choice.model.empty() ? "(not served)" : v->choice.model) + " (" +
                      v->choice.why + ")");
    }
    n.serve_models = std::move(serve);
  }
  return lines;
}

LlmShape LlmShapeOf(const llm::LlamaConfig& c, int kv_cache_mb) {
  const int64_t H = c.hidden_size, q = int64_t{c.num_attention_heads} * c.head_dim,
                kv = int64_t{c.num_key_value_heads} * c.head_dim;
  LlmShape s;
  s.layers = c.num_hidden_layers;
  s.layer_bytes = 4 * (H * (q + 2 * kv) + q * H + 3 * H * c.intermediate_size + 2 * H) +
                  (int64_t{kv_cache_mb} << 20) / std::max(1, c.num_hidden_layers);
  s.head_bytes = 4 * int64_t{c.vocab_size} * H;
  s.tail_bytes = 4 * H + (c.tie_word_embeddings ? s.head_bytes : 4 * int64_t{c.vocab_size} * H);
  return s;
}

Status PlanPipelines(const std::map<std::string, LlmShape>& shapes, int host_threads,
                     ClusterConfig* cluster, std::vector<std::string>* explain) {
  auto node = [&](const std::string& id) -> NodeConfig* {
    for (NodeConfig& n : cluster->nodes)
      if (n.id == id) return &n;
    return nullptr;
  };
  for (const auto& [model, p] : cluster->pipelines) {
    auto shape = shapes.find(model);
    if (shape == shapes.end())
      return InvalidArgument("pipeline " + model + ": not an LLM of the model repository");
    const LlmShape& m = shape->second;
    std::vector<int> counts = p.layers;
    if (counts.empty()) {
      std::vector<allocator::StageDevice> devices;
      for (size_t i = 0; i < p.stages.size(); ++i) {
        const NodeConfig* n = node(p.stages[i]);
        allocator::StageDevice d;
        const DeviceConfig& dev = n->devices.front();
        d.speed = (dev.cpu_threads > 0 ? std::min(dev.cpu_threads, host_threads) : host_threads) *
                  dev.cpu_quota;
        d.memory_bytes = dev.memory_mb << 20;
        d.fixed_bytes = (i == 0 ? m.head_bytes : 0) + (i + 1 == p.stages.size() ? m.tail_bytes : 0);
        devices.push_back(d);
      }
      Status s = allocator::SplitLayers(m.layers, m.layer_bytes, devices, &counts);
      if (!s.ok()) return InvalidArgument("pipeline " + model + ": " + s.message());
    }
    int total = 0;
    for (int c : counts) total += c;
    if (total != m.layers)
      return InvalidArgument("pipeline " + model + ": layers add up to " + std::to_string(total) +
                             ", the model has " + std::to_string(m.layers));
    const int depth = p.depth > 0 ? p.depth : static_cast<int>(p.stages.size());
    std::string line = model + ":";
    int first = 0;
    for (size_t i = 0; i < p.stages.size(); ++i) {
      NodeConfig* n = node(p.stages[i]);
      PipelineStageConfig sc;
      sc.stage = static_cast<int>(i);
      sc.first_layer = first;
      sc.end_layer = first + counts[i];
      sc.depth = depth;
      if (i + 1 < p.stages.size()) sc.next = p.stages[i + 1];
      n->pipeline[model] = sc;
      if (i == 0 && !n->serve_models.empty() &&
          std::count(n->serve_models.begin(), n->serve_models.end(), model) == 0)
        n->serve_models.push_back(model);
      line += (i == 0 ? " " : " -> ") + n->id + " [" + std::to_string(sc.first_layer) + ", " +
              std::to_string(sc.end_layer) + ")";
      first = sc.end_layer;
    }
    explain->push_back(line + ", depth " + std::to_string(depth));
  }
  return Status::Ok();
}

void PlacementInputs(const ClusterConfig& cluster, const std::vector<allocator::Profile>& profiles,
                     const std::vector<ModelDescriptor>& descriptors,
                     const std::map<std::string, std::map<std::string, double>>& demand,
                     std::vector<scheduler::NodeState>* nodes,
                     std::vector<scheduler::ServiceState>* services) {
  for (const NodeConfig& n : cluster.nodes) {
    scheduler::NodeState st{n.id, 1.0, 0};
    for (const DeviceConfig& d : n.devices) {
      st.speed = std::min(st.speed, d.cpu_quota);
      st.memory_bytes += d.memory_mb << 20;
    }
    nodes->push_back(st);
  }
  for (const allocator::Profile& p : profiles) {
    auto d = std::find_if(descriptors.begin(), descriptors.end(),
                          [&](const ModelDescriptor& x) { return x.name == p.model; });
    if (d == descriptors.end()) continue;
    scheduler::ServiceState s = scheduler::ServiceFromProfile(
        p, d->task == TaskType::kLlm ? d->slo.ttft_ms : d->slo.latency_ms);
    if (auto it = demand.find(p.model); it != demand.end()) s.demand = it->second;
    services->push_back(std::move(s));
  }
}

}  // namespace epara::node
