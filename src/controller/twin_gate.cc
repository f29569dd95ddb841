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

bool TwinApproves(double current_rps, double candidate_rps, double noise_rps) {
  const double gain = candidate_rps - current_rps;
  return gain > 0 && gain > noise_rps;
}

}  // namespace epara::controller
