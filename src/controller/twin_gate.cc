#include "controller/twin_gate.h"

namespace epara::controller {

scheduler::Instances CandidatePlacement(const scheduler::Instances& current,
                                        const PeriodPlan& plan) {
  scheduler::Instances out = current;
  for (const scheduler::ServiceState& s : plan.services) {
    auto t = plan.target.find(s.name);
    if (t == plan.target.end())
      out.erase(s.name);
    else
      out[s.name] = t->second;
  }
  return out;
}

void AddViewShapes(const nlohmann::json& view, size_t keep,
                   std::map<std::string, std::vector<RequestShape>>* shapes) {
  if (!view.is_object() || !view.contains("llm_shapes") || !view["llm_shapes"].is_object()) return;
  for (const auto& [model, list] : view["llm_shapes"].items()) {
    if (!list.is_array()) continue;
    std::vector<RequestShape>& out = (*shapes)[model];
    for (const auto& s : list) {
      if (out.size() >= keep) break;
      if (!s.is_array() || s.size() != 2 || !s[0].is_number_integer() || !s[1].is_number_integer())
        continue;
      const int prompt = s[0].get<int>(), completion = s[1].get<int>();
      if (prompt <= 0 || completion <= 0) continue;
      RequestShape r;
      r.prompt_tokens = prompt;
      r.output_tokens = completion;
      out.push_back(r);
    }
    if (out.empty()) shapes->erase(model);
  }
}

void AddViewBacklog(const nlohmann::json& view, std::set<std::string>* seen,
                    std::vector<TwinBacklog>* backlog) {
  if (!view.is_object() || !view.contains("nodes") || !view["nodes"].is_array()) return;
  const auto count = [](const nlohmann::json& i, const char* key) {
    return i.contains(key) && i[key].is_number_unsigned() ? i[key].get<int>() : 0;
  };
  for (const auto& n : view["nodes"]) {
    if (!n.is_object() || !n.contains("digest") || !n.contains("id") || !n["id"].is_string())
      continue;
    const std::string id = n["id"].get<std::string>();
    if (!seen->insert(id).second) continue;
    const auto& d = n["digest"];
    if (!d.is_object() || !d.contains("instances") || !d["instances"].is_array()) continue;
    for (const auto& i : d["instances"]) {
      if (!i.is_object() || !i.contains("model") || !i["model"].is_string()) continue;
      TwinBacklog b{id, i["model"].get<std::string>(), count(i, "queue_length"),
                    count(i, "in_flight")};
      if (b.queued > 0 || b.running > 0) backlog->push_back(std::move(b));
    }
  }
}

bool TwinApproves(double current_rps, double candidate_rps, double noise_rps) {
  const double gain = candidate_rps - current_rps;
  return gain > 0 && gain > noise_rps;
}

}  // namespace epara::controller
