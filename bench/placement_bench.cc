// Placement solve time (issue 6): scheduler::Place on synthetic clusters of 10, 100 and 1,000
// nodes x 10 and 100 services (heterogeneous speeds and memory, demand entering at a random third
// of the nodes), median of --repeats solves each, plus the lazy greedy's evaluation count and the
// predicted goodput share.
//   build/bench/epara_placement_bench --out bench/results/placement_bench.json
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "bench_util.h"
#include "scheduler/placement.h"

namespace {

using namespace epara;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

void MakeCluster(int n_nodes, int n_services, uint64_t seed,
                 std::vector<scheduler::NodeState>* nodes,
                 std::vector<scheduler::ServiceState>* services) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> U(0, 1);
  const double speeds[] = {4, 1, 0.5, 0.25};  // edge server, embedded, micro...
  const int64_t memory[] = {8ll << 30, 2ll << 30, 1ll << 30, 1ll << 30};
  for (int j = 0; j < n_nodes; ++j) {
    const int cls = static_cast<int>(U(rng) * 4);
    nodes->push_back({"n" + std::to_string(j), speeds[cls], memory[cls]});
  }
  double total_capacity = 0;
  for (const auto& n : *nodes) total_capacity += n.speed * 50;  // ~50 req/s per unit speed
  for (int i = 0; i < n_services; ++i) {
    scheduler::ServiceState s;
    s.name = "s" + std::to_string(i);
    s.memory_bytes = static_cast<int64_t>((50 + 900 * U(rng)) * (1 << 20));
    s.solo_ms = 5 + 95 * U(rng);
    s.rps_at_speed_1 = 1000 / s.solo_ms * (1 + 2 * U(rng));  // batching gain 1..3x
    s.slo_ms = U(rng) < 0.5 ? 4 * s.solo_ms : 0;
    // Demand ~80% of what the cluster could serve, spread over the services and a third of nodes.
    const double rate = 0.8 * total_capacity / n_services * (0.2 + 1.6 * U(rng));
    for (int k = 0; k < std::max(1, n_nodes / 3); ++k)
      s.demand["n" + std::to_string(static_cast<int>(U(rng) * n_nodes))] +=
          rate / std::max(1, n_nodes / 3);
    services->push_back(std::move(s));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> node_counts = {10, 100, 1000}, service_counts = {10, 100};
  int repeats = 5;
  std::string out;
  CLI::App app{"epara placement solve-time benchmark"};
  app.add_option("--nodes", node_counts)->capture_default_str();
  app.add_option("--services", service_counts)->capture_default_str();
  app.add_option("--repeats", repeats)->capture_default_str();
  app.add_option("--out", out);
  CLI11_PARSE(app, argc, argv);
  json rows = json::array();
  std::printf("%6s %9s %12s %12s %13s %10s\n", "nodes", "services", "median ms", "max ms",
              "evaluations", "goodput %");
  for (int n : node_counts)
    for (int s : service_counts) {
      std::vector<scheduler::NodeState> nodes;
      std::vector<scheduler::ServiceState> services;
      MakeCluster(n, s, 1000 * n + s, &nodes, &services);
      double demand = 0;
      for (const auto& sv : services)
        for (const auto& [_, r] : sv.demand) demand += r;
      std::vector<double> ms;
      scheduler::PlacementResult r;
      for (int k = 0; k < repeats; ++k) {
        const auto t0 = Clock::now();
        r = scheduler::Place(nodes, services, {});
        ms.push_back(bench::Seconds(Clock::now() - t0) * 1000);
      }
      // A re-plan from the previous placement (what the controller does every period).
      const auto t0 = Clock::now();
      const scheduler::PlacementResult again = scheduler::Place(nodes, services, r.placement);
      const double replan_ms = bench::Seconds(Clock::now() - t0) * 1000;
      const double share = 100 * r.predicted_goodput / demand;
      std::printf("%6d %9d %12.2f %12.2f %13d %10.1f\n", n, s, bench::Median(ms),
                  *std::max_element(ms.begin(), ms.end()), r.evaluations, share);
      rows.push_back({{"nodes", n},
                      {"services", s},
                      {"median_ms", bench::Median(ms)},
                      {"max_ms", *std::max_element(ms.begin(), ms.end())},
                      {"replan_from_previous_ms", replan_ms},
                      {"evaluations", r.evaluations},
                      {"demand_rps", demand},
                      {"predicted_goodput_rps", r.predicted_goodput},
                      {"replan_moves", [&] {
                         int m = 0;
                         for (const auto& [_, o] : again.services)
                           m += static_cast<int>(o.added.size() + o.removed.size());
                         return m;
                       }()}});
    }
  if (!out.empty())
    std::ofstream(out)
        << json{{"benchmark", "placement"}, {"repeats", repeats}, {"rows", rows}}.dump(2) << "\n";
  return 0;
}
