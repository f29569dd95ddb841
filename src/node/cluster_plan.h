// Applying the allocator's plan to a cluster configuration at start (issue 5, "plan application"):
// every profiled service is categorized against the cluster's devices (allocator/categorizer.h),
// turned into instance settings (allocator/service_plan.h), and written into the batching of every
// node that serves it. No I/O: `epara up` and `epara plan` share it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "allocator/categorizer.h"
#include "allocator/profile.h"
#include "allocator/service_plan.h"
#include "node/cluster_config.h"

namespace epara::node {

struct PlannedService {
  std::string model;
  allocator::ServiceSpec spec;
  allocator::Categorization category;
  allocator::ServicePlan plan;
};

// The devices of `cluster` as the categorizer sees them (one per node and device; speed = the
// emulated CPU share, memory = the budget).
std::vector<allocator::DeviceBudget> ClusterDevices(const ClusterConfig& cluster);

// Plans every service in `profiles` that has a descriptor in `descriptors`; demand from `rates`
// (requests/s by model, 0 when absent). When `apply`, sets the batching of each node serving it.
std::vector<PlannedService> PlanCluster(const std::vector<allocator::Profile>& profiles,
                                        const std::vector<ModelDescriptor>& descriptors,
                                        const std::map<std::string, double>& rates,
                                        const allocator::CategorizerConfig& config,
                                        ClusterConfig* cluster, bool apply);

}  // namespace epara::node
