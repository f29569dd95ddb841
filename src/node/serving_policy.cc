#include "node/serving_policy.h"

#include <algorithm>
#include <set>

namespace epara::node {
namespace {

constexpr ServingPolicy kAll[] = {ServingPolicy::kEpara,      ServingPolicy::kReplicateRr,
                                  ServingPolicy::kTritonLike, ServingPolicy::kAlpaserveLike,
                                  ServingPolicy::kLocalOnly,  ServingPolicy::kGalaxyLike,
                                  ServingPolicy::kNexusLike,  ServingPolicy::kClockworkLike};

int64_t Budget(const NodeConfig& n) {
  int64_t mb = 0;
  for (const DeviceConfig& d : n.devices) mb += d.memory_mb;
  return mb << 20;
}

// The models of the cluster file (a node without `serve` serves every model).
std::vector<const ModelFootprint*> ClusterModels(const std::vector<ModelFootprint>& models,
                                                 const ClusterConfig& c) {
  std::set<std::string> named;
  bool all = false;
  for (const NodeConfig& n : c.nodes) {
    if (n.serve_models.empty()) all = true;
    named.insert(n.serve_models.begin(), n.serve_models.end());
  }
  std::vector<const ModelFootprint*> out;
  for (const ModelFootprint& m : models)
    if (all || named.count(m.name)) out.push_back(&m);
  return out;
}

}  // namespace

bool ParseServingPolicy(const std::string& name, ServingPolicy* out) {
  for (ServingPolicy p : kAll)
    if (name == ServingPolicyName(p)) {
      *out = p;
      return true;
    }
  return false;
}

const char* ServingPolicyName(ServingPolicy p) {
  switch (p) {
    case ServingPolicy::kEpara:
      return "epara";
    case ServingPolicy::kReplicateRr:
      return "replicate-rr";
    case ServingPolicy::kTritonLike:
      return "triton-like";
    case ServingPolicy::kAlpaserveLike:
      return "alpaserve-like";
    case ServingPolicy::kLocalOnly:
      return "local-only";
    case ServingPolicy::kGalaxyLike:
      return "galaxy-like";
    case ServingPolicy::kNexusLike:
      return "nexus-like";
    case ServingPolicy::kClockworkLike:
      return "clockwork-like";
  }
  return "?";
}

std::vector<std::string> ServingPolicyNames() {
  std::vector<std::string> names;
  for (ServingPolicy p : kAll) names.push_back(ServingPolicyName(p));
  return names;
}

Status ApplyServingPolicy(ServingPolicy policy, const std::vector<ModelFootprint>& models,
                          ClusterConfig* config, std::vector<std::string>* notes) {
  const std::vector<const ModelFootprint*> used = ClusterModels(models, *config);
  const bool replicate = policy != ServingPolicy::kEpara && policy != ServingPolicy::kAlpaserveLike;
  if (policy != ServingPolicy::kEpara) config->plan_profiles.clear();
  // Model parallelism (the file's `pipelines:`) is kept by epara, alpaserve-like (AlpaServe places
  // model-parallel groups) and galaxy-like (Galaxy parallelizes a model over edge devices); the
  // replica-only systems serve an LLM whole where it fits, as Triton, Nexus and Clockwork do.
  const bool model_parallel = policy == ServingPolicy::kEpara ||
                              policy == ServingPolicy::kAlpaserveLike ||
                              policy == ServingPolicy::kGalaxyLike;
  if (!model_parallel && !config->pipelines.empty()) {
    if (notes) notes->push_back("pipelines dropped: no model parallelism in this policy");
    config->pipelines.clear();
    for (NodeConfig& n : config->nodes) n.pipeline.clear();
  }
  for (NodeConfig& n : config->nodes) {
    if (replicate) {
      const int64_t budget = Budget(n);
      int64_t held = 0;
      n.serve_models.clear();
      for (const ModelFootprint* m : used) {
        if (n.pipeline.count(m->name)) continue;  // pipelines stay as configured
        if (budget > 0 && held + m->bytes > budget) continue;
        held += m->bytes;
        n.serve_models.push_back(m->name);
      }
    }
    if (policy != ServingPolicy::kEpara) {
      n.batching.clear();
      n.split.clear();
    }
    for (const ModelFootprint* m : used) {
      if (m->llm || m->batching.max_batch_size == 0) continue;
      auto given = n.batching.find(m->name);  // epara keeps the file's own batching
      BatchingConfig b = given != n.batching.end() ? given->second : m->batching;
      b.slo_aware = policy == ServingPolicy::kEpara || policy == ServingPolicy::kNexusLike;
      if (policy != ServingPolicy::kEpara && m->tuned_max_batch > 0)
        b.max_batch_size = m->tuned_max_batch;
      if (policy == ServingPolicy::kReplicateRr || policy == ServingPolicy::kClockworkLike) {
        b.max_batch_size = 1;
        b.max_queue_delay_us = 0;
      }
      n.batching[m->name] = b;
    }
    switch (policy) {
      case ServingPolicy::kEpara:
        n.routing = router::RouteMode::kSloAware;
        n.admission = router::Admission::kRejectEarly;
        break;
      case ServingPolicy::kReplicateRr:
        n.routing = router::RouteMode::kRoundRobin;
        break;
      case ServingPolicy::kTritonLike:
      case ServingPolicy::kAlpaserveLike:
      case ServingPolicy::kGalaxyLike:
      case ServingPolicy::kNexusLike:
        n.routing = router::RouteMode::kLeastOutstanding;
        break;
      case ServingPolicy::kClockworkLike:
        n.routing = router::RouteMode::kSloAware;
        break;
      case ServingPolicy::kLocalOnly:
        n.routing = router::RouteMode::kLocalOnly;
        break;
    }
    // Requests that cannot meet their SLO are dropped at entry by epara, Nexus and Clockwork.
    const bool drops = policy == ServingPolicy::kEpara || policy == ServingPolicy::kNexusLike ||
                       policy == ServingPolicy::kClockworkLike;
    n.admission = drops ? router::Admission::kRejectEarly : router::Admission::kBestEffort;
    if (notes) {
      std::string serves;
      for (const std::string& s : n.serve_models) serves += (serves.empty() ? "" : ", ") + s;
      notes->push_back(n.id + " serves " + (serves.empty() ? "every model" : serves) +
                       ", routing " + router::RouteModeName(n.routing));
    }
  }
  if (policy == ServingPolicy::kGalaxyLike) {
    for (NodeConfig& n : config->nodes) n.split_fit = false;  // every request over every host
    for (const ModelFootprint* m : used) {
      if (!m->segmentation) continue;
      const int hosts = NodesServing(*config, m->name);  // every node lists its models here
      if (hosts < 2) continue;
      for (NodeConfig& n : config->nodes)
        if (std::count(n.serve_models.begin(), n.serve_models.end(), m->name) > 0)
          n.split[m->name] = hosts;
    }
  }
  const bool controlled =
      policy == ServingPolicy::kEpara || policy == ServingPolicy::kAlpaserveLike;
  if (controlled && config->controller_period_s <= 0) config->controller_period_s = 5;
  if (!controlled) config->controller_period_s = 0;
  if (policy == ServingPolicy::kAlpaserveLike) config->controller_burst_headroom = 0;
  return Status::Ok();
}

}  // namespace epara::node
