// What explaining a routing decision costs (issue 26: "the explanation ring costs <= 20 us p50 per
// request"): router::ExplainRoute + DecisionRing::Push, the work NodeAgent::Route adds to every
// routed request, against router::PlanRoute itself (which the request pays anyway), per call,
// median of rounds; and what judging the request into the live SLO window costs (issue 26:
// node::InferenceModelOf + JudgeOutcome + metrics::SloWindow::Record, what NodeAgent::
// ObserveRequest adds to every request that enters the node). Usage: epara_decision_bench
// [--candidates N] [--rounds R] [--out FILE]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "metrics/slo_window.h"
#include "node/decision_ring.h"
#include "node/request_outcome.h"
#include "router/route_decision.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cost of recording a routing decision"};
  int candidates = 4, rounds = 9, calls = 100000;
  std::string out;
  app.add_option("--candidates", candidates, "route candidates per request")->capture_default_str();
  app.add_option("--rounds", rounds, "rounds (median reported)")->capture_default_str();
  app.add_option("--calls", calls, "calls per round")->capture_default_str();
  app.add_option("--out", out, "write the results as JSON here");
  CLI11_PARSE(app, argc, argv);
  using namespace epara;
  std::vector<router::RouteCandidate> c;
  for (int i = 0; i < candidates; ++i) {
    router::RouteCandidate x;
    x.node_id = "node-" + std::to_string(i);
    x.local = i == 0;
    x.network_ms = i == 0 ? 0 : 0.3;
    x.expected_wait_ms = 10.0 * i;
    x.service_ms = 40 + i;
    x.service_measured = true;
    x.outstanding = i;
    c.push_back(x);
  }
  node::DecisionRing ring(256);
  metrics::SloWindow window;
  const std::string path = "/v2/models/seg-demo/infer";
  std::vector<double> plan_ns, explain_ns, slo_ns;
  double sink = 0;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    for (int k = 0; k < calls; ++k) {
      const router::RoutePlan p = router::PlanRoute(c, 500, router::Admission::kRejectEarly);
      sink += p.predicted_ms[0];
    }
    auto t1 = Clock::now();
    const router::RoutePlan p = router::PlanRoute(c, 500, router::Admission::kRejectEarly);
    for (int k = 0; k < calls; ++k)
      ring.Push(router::ExplainRoute("seg-demo", c, p, router::RouteMode::kSloAware, 500, false,
                                     static_cast<double>(k)));
    auto t2 = Clock::now();
    for (int k = 0; k < calls; ++k) {
      const std::string model = node::InferenceModelOf("POST", path, "");
      node::ResponseTiming t;
      t.e2e_ms = 30 + (k % 50);
      const node::Verdict v = node::JudgeOutcome({false, 60, 0}, t);
      window.Record(model, 1000.0 + k * 1e-4, v.latency_ms, v.ok, v.met);
    }
    auto t3 = Clock::now();
    slo_ns.push_back(std::chrono::duration<double, std::nano>(t3 - t2).count() / calls);
    plan_ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / calls);
    explain_ns.push_back(std::chrono::duration<double, std::nano>(t2 - t1).count() / calls);
  }
  const double plan = Median(plan_ns), explain = Median(explain_ns), slo = Median(slo_ns);
  std::printf(
      "candidates %d: PlanRoute %.0f ns, ExplainRoute + ring push %.0f ns per request "
      "(%.2fx PlanRoute), SLO window record %.0f ns%s\n",
      candidates, plan, explain, explain / plan, slo, sink < 0 ? "" : "");
  if (!out.empty()) {
    nlohmann::json j = {{"candidates", candidates},
                        {"rounds", rounds},
                        {"calls_per_round", calls},
                        {"plan_route_ns_median", plan},
                        {"explain_and_push_ns_median", explain},
                        {"explain_ns_rounds", explain_ns},
                        {"slo_record_ns_median", slo},
                        {"slo_record_ns_rounds", slo_ns},
                        {"plan_ns_rounds", plan_ns}};
    std::ofstream(out) << j.dump(2) << "\n";
  }
  return 0;
}
