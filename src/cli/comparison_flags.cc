#include "cli/comparison_flags.h"

#include <spdlog/spdlog.h>

#include "node/serving_policy.h"

namespace epara::cli {

ComparisonFlags::ComparisonFlags(std::string default_out)
    : policies(node::ServingPolicyNames()), out(std::move(default_out)) {}

void AddComparisonOptions(CLI::App* cmd, ComparisonFlags* f) {
  cmd->add_option("--cluster", f->cluster, "The cluster (an `epara up` cluster file)")->required();
  cmd->add_option("--workload", f->workloads, "Workload spec(s) (src/loadgen/workload_spec.h)")
      ->required();
  cmd->add_option("--policy", f->policies, "Policies to compare (comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--out", f->out, "Report directory")->capture_default_str();
  cmd->add_option("--duration-s", f->duration_s, "Seconds per swept rate (0: the workload's)");
  cmd->add_option("--rate-scale", f->rate_scale, "Multiplies every swept rate")
      ->capture_default_str();
  cmd->add_option("--warmup-s", f->warmup_s, "Unmeasured load before the measured runs")
      ->capture_default_str();
  cmd->add_option("--request-timeout-s", f->request_timeout_s,
                  "A request unanswered after this long is a miss (the client gives up)")
      ->capture_default_str();
  cmd->add_option("--repeats", f->repeats,
                  "Runs per (policy, workload, rate), each with its own arrival seed: goodput "
                  "with a 95% interval")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
}

std::string ComparisonCommandLine(const std::string& command, const ComparisonFlags& f) {
  std::string c = "epara " + command + " --cluster " + f.cluster;
  for (const auto& w : f.workloads) c += " --workload " + w;
  std::string p;
  for (const auto& x : f.policies) p += (p.empty() ? "" : ",") + x;
  c += " --policy " + p + " --out " + f.out;
  if (f.duration_s > 0) c += " --duration-s " + std::to_string(f.duration_s);
  if (f.rate_scale != 1) c += " --rate-scale " + std::to_string(f.rate_scale);
  if (f.repeats != 1) c += " --repeats " + std::to_string(f.repeats);
  return c;
}

bool LoadComparisonWorkloads(const ComparisonFlags& f, const std::vector<double>& rates,
                             loadgen::WorkloadSet* set, std::vector<std::string>* notes) {
  if (Status st = loadgen::LoadWorkloads(f.workloads, {f.duration_s, rates, f.rate_scale}, set);
      !st.ok()) {
    spdlog::error("{}", st.ToString());
    return false;
  }
  for (const std::string& line : set->skipped) {
    spdlog::warn("{}", line);
    notes->push_back(line);
  }
  if (set->specs.empty()) {
    spdlog::error("no workload to run");
    return false;
  }
  return true;
}

}  // namespace epara::cli
