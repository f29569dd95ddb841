// The adaptive deployment protocol's order of changes (issue 6): from the instances running now to
// the scheduler's new placement, as a sequence of loads and unloads that
//   - never leaves a service that has an instance now, or will have one, with none (its unloads
//     wait until another instance of it runs), and
//   - never exceeds a node's memory (a load waits until unloads on that node made room).
// Each load is carried out as load -> warm up -> ready -> advertised, each unload as stop
// advertising -> grace period -> drain -> free (node/instance_lifecycle.cc); the executor waits
// for a load to be visible to every node before the steps after it. Pure: a simulator can replay
// it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace epara::scheduler {

// Which nodes run an instance of each service.
using Instances = std::map<std::string, std::set<std::string>>;

struct DeployStep {
  enum class Kind { kLoad, kUnload };
  Kind kind = Kind::kLoad;
  std::string service, node;
};

// `memory`: bytes one instance of a service needs (absent: 0); `free_memory`: bytes free on each
// node now (absent: unlimited). FailedPrecondition, naming what is stuck, when no order satisfies
// both rules (e.g. two services swapping nodes that each hold only one of them).
Status PlanDeployment(const Instances& current, const Instances& target,
                      const std::map<std::string, int64_t>& memory,
                      const std::map<std::string, int64_t>& free_memory,
                      std::vector<DeployStep>* steps);

}  // namespace epara::scheduler
