// `epara plan --explain --cluster cluster.yaml --profiles profiles.json [--rate model=rps]...`:
// the allocator's category and parallel mode for every profiled service on the cluster's devices,
// and the numbers behind each choice (src/allocator/categorizer.h).
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "allocator/categorizer.h"
#include "allocator/profile.h"
#include "cli/commands.h"
#include "node/cluster_config.h"
#include "repo/model_repository.h"

namespace epara::cli {
namespace {

struct PlanFlags {
  std::string cluster, profiles;
  std::vector<std::string> rates;  // model=rps
  bool explain = false;
  double fs_min_slack = allocator::CategorizerConfig{}.fs_min_slack;
  double fs_min_load = allocator::CategorizerConfig{}.fs_min_load;
};

int RunPlan(const PlanFlags& f) {
  node::ClusterConfig cluster;
  if (Status s = node::LoadClusterConfig(f.cluster, /*store_port=*/2379, &cluster); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  std::ifstream in(f.profiles);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<allocator::Profile> profiles;
  if (Status s = allocator::ParseProfiles(text.str(), &profiles); !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", f.profiles.c_str(), s.ToString().c_str());
    return 2;
  }
  std::map<std::string, double> rates;
  for (const std::string& r : f.rates) {
    const size_t eq = r.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "--rate takes model=requests_per_second, got '%s'\n", r.c_str());
      return 2;
    }
    rates[r.substr(0, eq)] = std::atof(r.c_str() + eq + 1);
  }
  // SLOs come from the descriptors of the cluster's repository.
  RepositoryScan scan;
  (void)ScanModelRepository(cluster.models_dir, &scan);
  std::map<std::string, const ModelDescriptor*> descriptors;
  for (const ModelDescriptor& d : scan.models) descriptors[d.name] = &d;
  // Devices: one per node, speed = its emulated CPU share (profiles are measured at full speed).
  std::vector<allocator::DeviceBudget> devices;
  for (const node::NodeConfig& n : cluster.nodes)
    for (const node::DeviceConfig& d : n.devices)
      devices.push_back({n.id, d.id, d.memory_mb << 20, d.cpu_quota});
  allocator::CategorizerConfig config{f.fs_min_slack, f.fs_min_load};
  std::printf("%-14s %-4s %-4s %-14s %9s %9s %7s %7s %9s\n", "SERVICE", "REQ", "SVC", "MODE",
              "SLO ms", "SOLO ms", "SLACK", "LOAD", "MEM MB");
  for (const allocator::Profile& p : profiles) {
    allocator::ServiceSpec spec{p.model,
                                p.task == "llm" ? allocator::Task::kLlm : allocator::Task::kVision};
    if (auto it = descriptors.find(p.model); it != descriptors.end())
      spec.slo_ms =
          spec.task == allocator::Task::kLlm ? it->second->slo.ttft_ms : it->second->slo.latency_ms;
    const allocator::Categorization c =
        allocator::Categorize(spec, p.ForCategorizer(), devices, {rates[p.model]}, config);
    std::printf("%-14s %-4s %-4s %-14s %9.0f %9.1f %7.2f %7.2f %9.1f\n", p.model.c_str(),
                allocator::ShortName(c.request), allocator::ShortName(c.service),
                allocator::Name(c.mode), spec.slo_ms, c.best_solo_ms, c.slack, c.load,
                p.memory_bytes / 1048576.0);
    if (f.explain)
      std::printf(
          "    %s %s: %s (rate %.1f/s; thresholds: slack >= %.1f and load >= %.2f for "
          "frequency-sensitive)\n",
          allocator::Name(c.request), allocator::Name(c.service), c.why.c_str(), rates[p.model],
          config.fs_min_slack, config.fs_min_load);
  }
  return 0;
}

}  // namespace

void RegisterPlanCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<PlanFlags>();
  CLI::App* cmd = app.add_subcommand(
      "plan", "Categorize every profiled service and choose its parallel mode for a cluster");
  cmd->add_option("--cluster", f->cluster, "Cluster config (as for epara up)")->required();
  cmd->add_option("--profiles", f->profiles, "Profiles from epara profile --out")->required();
  cmd->add_option("--rate", f->rates, "Observed demand, model=requests_per_second (repeatable)");
  cmd->add_flag("--explain", f->explain, "Print the reason and the numbers behind every choice");
  cmd->add_option("--fs-min-slack", f->fs_min_slack, "SLO / solo latency needed for FS")
      ->capture_default_str();
  cmd->add_option("--fs-min-load", f->fs_min_load, "Devices of batch-1 work needed for FS")
      ->capture_default_str();
  cmd->callback([f, exit_code] { *exit_code = RunPlan(*f); });
}

}  // namespace epara::cli
