#include "loadgen/workload_set.h"

namespace epara::loadgen {

Status LoadWorkloads(const std::vector<std::string>& paths, const WorkloadOverrides& overrides,
                     WorkloadSet* out) {
  *out = WorkloadSet{};
  for (const std::string& path : paths) {
    WorkloadSpec s;
    EPARA_RETURN_IF_ERROR(LoadWorkloadSpec(path, &s));
    if (overrides.duration_s > 0) s.duration_s = overrides.duration_s;
    if (!overrides.rates.empty()) s.rates = overrides.rates;
    for (double& r : s.rates) r *= overrides.rate_scale;
    std::vector<ScheduledRequest> probe;
    if (Status st = BuildSchedule(s, s.rates.front(), &probe); !st.ok()) {
      out->skipped.push_back("workload " + s.name + " skipped: " + st.message());
      continue;
    }
    for (const ServiceLoad& l : s.services)
      out->services[s.name].push_back({l.model, l.llm, l.slo});
    out->specs.push_back(std::move(s));
  }
  return Status::Ok();
}

}  // namespace epara::loadgen
