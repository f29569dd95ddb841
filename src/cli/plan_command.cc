// `epara plan --explain --cluster cluster.yaml --profiles profiles.json [--rate model=rps]...`:
// the allocator's category and parallel mode for every profiled service on the cluster's devices,
// and the numbers behind each choice (src/allocator/categorizer.h).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "allocator/categorizer.h"
#include "allocator/profile.h"
#include "cli/commands.h"
#include "node/cluster_config.h"
#include "node/cluster_plan.h"
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
  const allocator::CategorizerConfig config{f.fs_min_slack, f.fs_min_load};
  const std::vector<node::PlannedService> planned =
      node::PlanCluster(profiles, scan.models, rates, config, &cluster, /*apply=*/false);
  std::printf("%-14s %-4s %-4s %-14s %9s %9s %7s %7s %9s\n", "SERVICE", "REQ", "SVC", "MODE",
              "SLO ms", "SOLO ms", "SLACK", "LOAD", "MEM MB");
  for (const node::PlannedService& s : planned) {
    const allocator::Categorization& c = s.category;
    const auto* p = &*std::find_if(profiles.begin(), profiles.end(),
                                   [&](const allocator::Profile& x) { return x.model == s.model; });
    std::printf("%-14s %-4s %-4s %-14s %9.0f %9.1f %7.2f %7.2f %9.1f\n", s.model.c_str(),
                allocator::ShortName(c.request), allocator::ShortName(c.service),
                allocator::Name(c.mode), s.spec.slo_ms, c.best_solo_ms, c.slack, c.load,
                p->memory_bytes / 1048576.0);
    if (f.explain) {
      std::printf(
          "    %s %s: %s (rate %.1f/s; thresholds: slack >= %.1f and load >= %.2f for "
          "frequency-sensitive)\n",
          allocator::Name(c.request), allocator::Name(c.service), c.why.c_str(),
          rates.count(s.model) ? rates.at(s.model) : 0.0, config.fs_min_slack, config.fs_min_load);
      if (s.spec.task != allocator::Task::kLlm)
        std::printf("    instances: %s\n", s.plan.note.c_str());
    }
  }
  // Services served as several variants (model.yaml `variant:`): which one each node should run.
  const std::vector<node::VariantPlan> variants =
      node::PlanVariants(profiles, scan.models, cluster);
  if (!variants.empty())
    std::printf("\n%-14s %-12s %-16s %9s %s\n", "SERVICE", "NODE", "VARIANT", "SOLO ms",
                f.explain ? "WHY" : "");
  for (const node::VariantPlan& v : variants)
    std::printf("%-14s %-12s %-16s %9.1f %s\n", v.service.c_str(), v.node.c_str(),
                v.choice.model.empty() ? "(none)" : v.choice.model.c_str(), v.choice.solo_ms,
                f.explain ? v.choice.why.c_str() : "");
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
