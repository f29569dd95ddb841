#include "node/cluster_setup.h"

#include <filesystem>

#include "allocator/service_plan.h"
#include "node/cluster_plan.h"

namespace epara::node {

std::vector<ModelFootprint> ModelFootprints(const std::vector<ModelDescriptor>& models,
                                            const std::vector<allocator::Profile>& profiles) {
  std::vector<ModelFootprint> out;
  for (const ModelDescriptor& d : models) {
    ModelFootprint f{d.name, 0, d.task == TaskType::kLlm, d.batching};
    f.segmentation = d.task == TaskType::kSegmentation;
    std::error_code ec;
    for (const std::string& a : d.artifacts)
      if (const auto size = std::filesystem::file_size(a, ec); !ec)
        f.bytes += static_cast<int64_t>(size);
    if (f.llm) f.bytes += int64_t{d.llm.kv_cache_mb} << 20;
    for (const allocator::Profile& p : profiles)
      if (p.model == d.name && !p.batches.empty())
        f.tuned_max_batch = allocator::BatchThatPays(p, 0);
    out.push_back(f);
  }
  return out;
}

Status ApplyPolicyAndPlan(const std::string& policy, const std::vector<ModelDescriptor>& models,
                          const std::vector<ModelFootprint>& footprints,
                          const std::vector<allocator::Profile>& profiles, ClusterConfig* config,
                          std::vector<std::string>* log) {
  if (!policy.empty()) {
    ServingPolicy p;
    if (!ParseServingPolicy(policy, &p)) return InvalidArgument("unknown policy '" + policy + "'");
    std::vector<std::string> notes;
    EPARA_RETURN_IF_ERROR(ApplyServingPolicy(p, footprints, config, &notes));
    for (const std::string& n : notes) log->push_back("policy " + policy + ": " + n);
  }
  if (config->plan_profiles.empty()) return Status::Ok();
  // Services listed by name in `serve:` that have variants get each node's variant first.
  for (const std::string& line : ApplyVariants(PlanVariants(profiles, models, *config), config))
    log->push_back("plan: variant " + line);
  for (const PlannedService& s :
       PlanCluster(profiles, models, config->plan_rates, {}, config, /*apply=*/true))
    log->push_back("plan: " + s.model + " is " + allocator::ShortName(s.category.request) + "-" +
                   allocator::ShortName(s.category.service) + ", mode " +
                   allocator::Name(s.category.mode) +
                   (s.spec.task == allocator::Task::kLlm ? " (continuous batching in the engine)"
                                                         : "; " + s.plan.note));
  return Status::Ok();
}

}  // namespace epara::node
