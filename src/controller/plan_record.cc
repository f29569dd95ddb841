#include "controller/plan_record.h"

namespace epara::controller {

using json = nlohmann::json;

json PlanRecordJson(const PeriodInput& in, const PeriodPlan& plan, uint64_t period,
                    double unix_ms) {
  json services = json::array();
  bool changed = false;
  for (const scheduler::ServiceState& s : plan.services) {
    auto o = plan.placed.services.find(s.name);
    json nodes = json::array();
    if (auto t = plan.target.find(s.name); t != plan.target.end())
      for (const std::string& n : t->second) nodes.push_back(n);
    json j = {{"name", s.name}, {"slo_ms", s.slo_ms}, {"instances", nodes}};
    if (o != plan.placed.services.end()) {
      j["demand_rps"] = o->second.demand;
      j["capacity_rps"] = o->second.capacity;
      j["predicted_goodput_rps"] = o->second.predicted_goodput;
      j["added"] = o->second.added;
      j["removed"] = o->second.removed;
      j["why"] = o->second.why;
      changed = changed || !o->second.added.empty() || !o->second.removed.empty();
    }
    services.push_back(std::move(j));
  }
  json steps = json::array();
  for (const scheduler::DeployStep& st : plan.steps)
    steps.push_back({{"kind", st.kind == scheduler::DeployStep::Kind::kLoad ? "load" : "unload"},
                     {"service", st.service},
                     {"node", st.node}});
  return {{"period", period},
          {"at_ms", unix_ms},
          {"nodes", in.nodes.size()},
          {"predicted_goodput_rps", plan.placed.predicted_goodput},
          {"placement",
           {{"units", in.placement.units},
            {"locality", in.placement.locality},
            {"keep", in.placement.keep}}},
          {"burst_headroom", in.burst_headroom},
          {"changed", changed || !plan.steps.empty()},
          {"services", services},
          {"steps", steps},
          {"unmoved", {{"llm", in.llms}, {"split", in.split}}}};
}

std::string AppendPlanRecord(const std::string& history, const json& record, size_t keep) {
  json all = json::parse(history, nullptr, false);
  if (!all.is_array()) all = json::array();
  all.push_back(record);
  if (keep > 0 && all.size() > keep) all.erase(all.begin(), all.end() - static_cast<long>(keep));
  return all.dump();
}

}  // namespace epara::controller
