// How `epara up` turns a cluster file into the node configs it starts, shared with `epara sim`
// (issue 23) so that the simulator runs exactly the configuration the real testbed runs:
//   1. the serving policy rewrites the file (node/serving_policy.h: placement, batching, routing,
//      admission, the controller);
//   2. with profiles, the categorized plan: each node's variant of a service and the planned
//      batching of every profiled service (node/cluster_plan.h).
// Pipelines are planned by `epara up` afterwards (they need the LLM shapes and the host's threads).
#pragma once

#include <string>
#include <vector>

#include "allocator/profile.h"
#include "core/status.h"
#include "node/cluster_config.h"
#include "node/serving_policy.h"
#include "repo/model_descriptor.h"

namespace epara::node {

// Every model of `models` with its memory: artifact bytes on disk plus an LLM's KV-cache budget;
// the baselines' max batch from a profile (allocator::BatchThatPays).
std::vector<ModelFootprint> ModelFootprints(const std::vector<ModelDescriptor>& models,
                                            const std::vector<allocator::Profile>& profiles);

// Steps 1 and 2 above. `policy` empty: the file as written. `log` receives one line per decision.
// InvalidArgument for an unknown policy.
Status ApplyPolicyAndPlan(const std::string& policy, const std::vector<ModelDescriptor>& models,
                          const std::vector<ModelFootprint>& footprints,
                          const std::vector<allocator::Profile>& profiles, ClusterConfig* config,
                          std::vector<std::string>* log);

}  // namespace epara::node
