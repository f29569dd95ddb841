#include "scheduler/deployment.h"

#include <algorithm>

namespace epara::scheduler {

Status PlanDeployment(const Instances& current, const Instances& target,
                      const std::map<std::string, int64_t>& memory,
                      const std::map<std::string, int64_t>& free_memory,
                      std::vector<DeployStep>* steps) {
  steps->clear();
  auto mem = [&](const std::string& s) {
    auto it = memory.find(s);
    return it == memory.end() ? int64_t{0} : it->second;
  };
  std::map<std::string, int64_t> free = free_memory;
  auto fits = [&](const std::string& node, int64_t bytes) {
    auto it = free.find(node);
    return it == free.end() || it->second >= bytes;
  };
  std::vector<std::pair<std::string, std::string>> loads, unloads;  // (service, node)
  std::map<std::string, int> running;  // instances of each service running now
  for (const auto& [s, nodes] : current) {
    running[s] = static_cast<int>(nodes.size());
    auto t = target.find(s);
    for (const std::string& n : nodes)
      if (t == target.end() || !t->second.count(n)) unloads.emplace_back(s, n);
  }
  for (const auto& [s, nodes] : target) {
    auto c = current.find(s);
    for (const std::string& n : nodes)
      if (c == current.end() || !c->second.count(n)) loads.emplace_back(s, n);
  }
  auto target_count = [&](const std::string& s) {
    auto t = target.find(s);
    return t == target.end() ? 0 : static_cast<int>(t->second.size());
  };
  while (!loads.empty() || !unloads.empty()) {
    bool progress = false;
    for (auto it = loads.begin(); it != loads.end();) {
      if (fits(it->second, mem(it->first))) {
        steps->push_back({DeployStep::Kind::kLoad, it->first, it->second});
        if (auto f = free.find(it->second); f != free.end()) f->second -= mem(it->first);
        running[it->first]++;
        it = loads.erase(it);
        progress = true;
      } else {
        ++it;
      }
    }
    for (auto it = unloads.begin(); it != unloads.end();) {
      // Keep one instance running unless the new placement has none of the service at all.
      if (running[it->first] >= 2 || target_count(it->first) == 0) {
        steps->push_back({DeployStep::Kind::kUnload, it->first, it->second});
        if (auto f = free.find(it->second); f != free.end()) f->second += mem(it->first);
        running[it->first]--;
        it = unloads.erase(it);
        progress = true;
      } else {
        ++it;
      }
    }
    if (!progress) {
      std::string stuck;
      for (const auto& [s, n] : loads)
        stuck += (stuck.empty() ? "" : ", ") + ("load " + s + " on " + n);
      for (const auto& [s, n] : unloads)
        stuck += (stuck.empty() ? "" : ", ") + ("unload " + s + " from " + n);
      return FailedPrecondition(
          "no order of the changes keeps every service running within the "
          "nodes' memory: " +
          stuck);
    }
  }
  return Status::Ok();
}

}  // namespace epara::scheduler
