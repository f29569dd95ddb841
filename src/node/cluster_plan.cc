#include "node/cluster_plan.h"

#include <algorithm>

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
    // LLMs batch continuously in their engine; the plan's batching applies to the other tasks.
    if (apply && d->task != TaskType::kLlm)
      for (NodeConfig& n : cluster->nodes)
        if (n.serve_models.empty() ||
            std::count(n.serve_models.begin(), n.serve_models.end(), p.model) > 0)
          n.batching[p.model] = s.plan.batching;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace epara::node
