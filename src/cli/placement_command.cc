// `epara placement --explain --cluster cluster.yaml --profiles profiles.json
//   [--rate model=rps[@node]]... [--current placement.json] [--without node]... [--out
//   placement.json]`:
// the state-aware scheduler's placement (src/scheduler/placement.h) for a cluster configuration,
// every service's predicted goodput, and why it moved relative to --current.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "allocator/profile.h"
#include "cli/commands.h"
#include "cli/process_support.h"
#include "node/cluster_config.h"
#include "node/cluster_plan.h"
#include "repo/model_repository.h"
#include "scheduler/placement.h"

namespace epara::cli {
namespace {

using json = nlohmann::json;

struct PlacementFlags {
  std::string cluster, profiles, current, out;
  std::vector<std::string> rates;    // model=rps[@node]
  std::vector<std::string> without;  // nodes to leave out (failed)
  bool explain = false;
  scheduler::PlacementConfig config;
};

int RunPlacement(const PlacementFlags& f) {
  node::ClusterConfig cluster;
  if (Status s = node::LoadClusterConfig(f.cluster, /*store_port=*/2379, &cluster); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  std::vector<allocator::Profile> profiles;
  if (Status s = allocator::ParseProfiles(ReadTextFile(f.profiles), &profiles); !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", f.profiles.c_str(), s.ToString().c_str());
    return 2;
  }
  std::map<std::string, std::map<std::string, double>> demand;
  for (const std::string& r : f.rates) {
    const size_t eq = r.find('='), at = r.find('@');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "--rate takes model=requests_per_second[@node], got '%s'\n", r.c_str());
      return 2;
    }
    const std::string node = at == std::string::npos ? cluster.nodes.front().id : r.substr(at + 1);
    demand[r.substr(0, eq)][node] += std::atof(r.c_str() + eq + 1);
  }
  scheduler::Placement current;
  if (!f.current.empty()) {
    const json j = json::parse(ReadTextFile(f.current), nullptr, false);
    if (!j.is_object() || !j.contains("placement")) {
      std::fprintf(stderr, "%s: not a placement written by --out\n", f.current.c_str());
      return 2;
    }
    current = j["placement"].get<scheduler::Placement>();
  }
  RepositoryScan scan;
  (void)ScanModelRepository(cluster.models_dir, &scan);
  std::vector<scheduler::NodeState> nodes;
  std::vector<scheduler::ServiceState> services;
  node::PlacementInputs(cluster, profiles, scan.models, demand, &nodes, &services);
  std::erase_if(nodes, [&](const scheduler::NodeState& n) {
    return std::find(f.without.begin(), f.without.end(), n.id) != f.without.end();
  });
  const scheduler::PlacementResult r = scheduler::Place(nodes, services, current, f.config);
  std::printf("%-14s %9s %9s %9s  %s\n", "SERVICE", "DEMAND", "CAPACITY", "GOODPUT",
              "INSTANCES (node:units)");
  for (const auto& [name, o] : r.services) {
    std::string where;
    if (auto p = r.placement.find(name); p != r.placement.end())
      for (const auto& [node, units] : p->second)
        where += (where.empty() ? "" : " ") + node + ":" + std::to_string(units);
    std::printf("%-14s %9.1f %9.1f %9.1f  %s\n", name.c_str(), o.demand, o.capacity,
                o.predicted_goodput, where.empty() ? "-" : where.c_str());
    if (f.explain) {
      std::printf("    %s\n", o.why.c_str());
      if (!o.added.empty() || !o.removed.empty()) {
        std::string moved;
        for (const std::string& n : o.added) moved += " +" + n;
        for (const std::string& n : o.removed) moved += " -" + n;
        std::printf("    instances:%s\n", moved.c_str());
      }
    }
  }
  std::printf("predicted goodput %.1f req/s (%d gain evaluations)\n", r.predicted_goodput,
              r.evaluations);
  if (!f.out.empty())
    std::ofstream(f.out)
        << json{{"placement", r.placement}, {"predicted_goodput", r.predicted_goodput}}.dump(2)
        << "\n";
  return 0;
}

}  // namespace

void RegisterPlacementCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<PlacementFlags>();
  CLI::App* cmd = app.add_subcommand(
      "placement", "Place services on a cluster's nodes to maximize predicted goodput");
  cmd->add_option("--cluster", f->cluster, "Cluster config (as for epara up)")->required();
  cmd->add_option("--profiles", f->profiles, "Profiles from epara profile --out")->required();
  cmd->add_option("--rate", f->rates,
                  "Demand, model=requests_per_second[@ingress node] (repeatable; default node: "
                  "the first)");
  cmd->add_option("--current", f->current, "The placement now (a previous --out): moves cost");
  cmd->add_option("--without", f->without, "Leave this node out, as failed (repeatable)");
  cmd->add_option("--out", f->out, "Write the placement as JSON");
  cmd->add_flag("--explain", f->explain, "Print why every service is placed and moved so");
  cmd->add_option("--units", f->config.units, "Compute shares per node")->capture_default_str();
  cmd->add_option("--keep", f->config.keep, "Hysteresis: req/s a kept unit is worth extra")
      ->capture_default_str();
  cmd->callback([f, exit_code] { *exit_code = RunPlacement(*f); });
}

}  // namespace epara::cli
