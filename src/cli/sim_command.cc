// `epara sim --cluster testbed.yaml --workload w.yaml --policy epara,... --profiles p.json --out
// DIR`: ParaSim (issue 23). The same inputs as `epara bench` and the same report
// (loadgen/report.h), from a discrete-event simulation that decides with the real policies
// (sim/simulation.h) instead of a real cluster. Every (policy, workload, rate) run starts a fresh
// simulated cluster exactly as `epara up --policy P --profiles p.json` would configure it
// (node/cluster_setup.h), warms it with the lowest rate for --warmup-s (unmeasured, as the bench
// does), then replays the workload.
//
// Large clusters: --nodes N generates N nodes from --mix (device-class shares) and scales every
// swept rate by N / (the file's node count); --copies K turns each workload model into K services;
// each service copy's requests enter at its own share of the nodes (--uniform-ingress: any node),
// drawn with the seed. --fault adds crashes, recoveries, digest loss
// and controller outages. --compare REPORT.json writes validation.md/json: simulated vs measured
// goodput and SLO attainment per (workload, policy, rate).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "cli/comparison_flags.h"
#include "cli/pipeline_setup.h"
#include "cli/process_support.h"
#include "loadgen/report.h"
#include "loadgen/workload_set.h"
#include "loadgen/workload_spec.h"
#include "node/cluster_setup.h"
#include "repo/model_repository.h"
#include "sim/scenario.h"
#include "sim/simulation.h"
#include "sim/validation.h"

namespace epara::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct SimFlags : ComparisonFlags {
  SimFlags() : ComparisonFlags("out/sim") {}
  std::string profiles;
  std::vector<double> rates;  // replaces every workload's sweep
  bool uniform_ingress = false;
  uint64_t seed = 1;
  int nodes = 0;
  std::string mix;
  int copies = 1;
  int serve_per_node = 4;
  double network_ms = 0.3;
  double bandwidth_mb_s = 0;
  std::string request_work = "256:6,384:12";
  double host_cores = 0;
  std::string sync = "all";
  int route_peers = -1;  // >= 0: overrides every node's route_peers
  std::vector<std::string> faults;
  bool twin = false;
  std::string compare;
  size_t max_report_requests = 200000;
};

// "a:b,c:d" -> pairs; false when malformed.
bool ParsePairs(const std::string& text, std::vector<std::pair<std::string, double>>* out) {
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t c = item.find(':');
    if (c == std::string::npos) return false;
    char* end = nullptr;
    const double v = std::strtod(item.c_str() + c + 1, &end);
    if (end == item.c_str() + c + 1 || *end) return false;
    out->emplace_back(item.substr(0, c), v);
  }
  return true;
}

// "crash:NODE@T", "recover:NODE@T", "loss:SHARE@T", "controller-down@T", "controller-up@T".
Status ParseFault(const std::string& text, sim::SimFault* f) {
  const size_t at = text.rfind('@');
  if (at == std::string::npos) return InvalidArgument("--fault '" + text + "': missing @SECONDS");
  f->at_s = std::atof(text.c_str() + at + 1);
  const std::string what = text.substr(0, at);
  const size_t c = what.find(':');
  const std::string kind = what.substr(0, c);
  const std::string arg = c == std::string::npos ? "" : what.substr(c + 1);
  if (kind == "crash" || kind == "recover") {
    if (arg.empty()) return InvalidArgument("--fault '" + text + "': which node?");
    f->kind = kind == "crash" ? sim::SimFault::Kind::kCrash : sim::SimFault::Kind::kRecover;
    f->node = arg;
  } else if (kind == "loss") {
    f->kind = sim::SimFault::Kind::kDigestLoss;
    f->loss = std::atof(arg.c_str());
    if (f->loss < 0 || f->loss > 1)
      return InvalidArgument("--fault '" + text + "': share in [0, 1]");
  } else if (kind == "controller-down" || kind == "controller-up") {
    f->kind = kind == "controller-down" ? sim::SimFault::Kind::kControllerDown
                                        : sim::SimFault::Kind::kControllerUp;
  } else {
    return InvalidArgument("--fault '" + text +
                           "': crash:NODE, recover:NODE, loss:SHARE, controller-down or "
                           "controller-up, then @SECONDS");
  }
  return Status::Ok();
}

struct RunStats {
  std::string policy, workload;
  double rate = 0;
  int nodes = 0;
  size_t requests = 0;
  double wall_s = 0;
  sim::SimStats stats;
  double simulated_s = 0;
  double attainment = 0;  // over every measured request (the report may hold a sample)
};

// The twin's periods that lie inside the offered load (a window reaching past its end would
// compare a forecast of steady arrivals with the load's tail).
std::vector<const sim::TwinPeriod*> JudgedPeriods(const RunStats& r) {
  std::vector<const sim::TwinPeriod*> out;
  for (const sim::TwinPeriod& p : r.stats.twin)
    // offered 0: the controller had no demand estimate yet (its first read), so no forecast
    if (p.at_s + p.horizon_s <= r.simulated_s + 1e-9 && p.observed_rps > 0 && p.offered_rps > 0)
      out.push_back(&p);
  return out;
}

json TwinJson(const RunStats& r) {
  json periods = json::array();
  for (const sim::TwinPeriod* p : JudgedPeriods(r))
    periods.push_back({{"at_s", p->at_s},
                       {"offered_rps", p->offered_rps},
                       {"observed_offered_rps", p->observed_offered_rps},
                       {"current_rps", p->current_rps},
                       {"candidate_rps", p->candidate_rps},
                       {"noise_rps", p->noise_rps},
                       {"changed", p->changed},
                       {"applied", p->applied},
                       {"predicted_rps", p->predicted_rps},
                       {"hindsight_rps", p->hindsight_rps},
                       {"observed_rps", p->observed_rps}});
  return {{"rejected_plans", r.stats.twin_rejected},
          {"wall_s", r.stats.twin_wall_s},
          {"periods", periods}};
}

// Predicted vs observed goodput per period over every run: the relative error's distribution.
std::string TwinNote(const std::vector<RunStats>& runs) {
  std::vector<double> errors, demand_errors, hindsight_errors;
  uint64_t changed = 0, applied = 0;
  double wall = 0, predicted = 0, observed = 0;
  for (const RunStats& r : runs) {
    wall += r.stats.twin_wall_s;
    for (const sim::TwinPeriod& p : r.stats.twin) {
      changed += p.changed;
      applied += p.applied;
    }
    for (const sim::TwinPeriod* p : JudgedPeriods(r)) {
      errors.push_back(std::abs(p->predicted_rps - p->observed_rps) / p->observed_rps);
      demand_errors.push_back(std::abs(p->offered_rps - p->observed_offered_rps) /
                              std::max(1e-9, p->observed_offered_rps));
      hindsight_errors.push_back(std::abs(p->hindsight_rps - p->observed_rps) / p->observed_rps);
      predicted += p->predicted_rps;
      observed += p->observed_rps;
    }
  }
  std::sort(errors.begin(), errors.end());
  std::sort(demand_errors.begin(), demand_errors.end());
  std::sort(hindsight_errors.begin(), hindsight_errors.end());
  const auto at = [](const std::vector<double>& v, double q) {
    return v.empty() ? 0.0 : v[std::min(v.size() - 1, size_t(q * v.size()))];
  };
  size_t within = 0;
  for (double e : errors) within += e <= 0.15;
  char line[800];
  std::snprintf(line, sizeof line,
                "digital twin: %zu periods judged, |predicted - observed| / observed goodput per "
                "period: median %.1f%%, p90 %.1f%%, max %.1f%%, %.0f%% of periods within 15%%; "
                "summed over the periods %+.1f%%; the demand it forecast (the smoothed rate) vs "
                "the arrivals: median %.1f%%, p90 %.1f%% off; fed each period's own arrivals "
                "(hindsight, the model's error alone): median %.1f%%, p90 %.1f%%; plans with "
                "steps %llu, applied %llu; %.2f s of host time in the twin",
                errors.size(), 100 * at(errors, 0.5), 100 * at(errors, 0.9),
                100 * (errors.empty() ? 0 : errors.back()),
                errors.empty() ? 0.0 : 100.0 * within / errors.size(),
                observed > 0 ? 100 * (predicted - observed) / observed : 0.0,
                100 * at(demand_errors, 0.5), 100 * at(demand_errors, 0.9),
                100 * at(hindsight_errors, 0.5), 100 * at(hindsight_errors, 0.9),
                static_cast<unsigned long long>(changed), static_cast<unsigned long long>(applied),
                wall);
  return line;
}

int RunSim(const SimFlags& f) {
  // Workloads (the bench's loader and schedule builder).
  std::vector<std::string> notes;
  loadgen::WorkloadSet set;
  if (!LoadComparisonWorkloads(f, f.rates, &set, &notes)) return 2;
  const std::vector<loadgen::WorkloadSpec>& specs = set.specs;
  const auto& services = set.services;
  node::ClusterConfig base;
  if (Status s = node::LoadClusterConfig(f.cluster, /*store_port=*/1, &base); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 2;
  }
  std::vector<allocator::Profile> base_profiles;
  if (Status s = allocator::ParseProfiles(ReadTextFile(f.profiles), &base_profiles); !s.ok()) {
    spdlog::error("--profiles {}: {}", f.profiles, s.ToString());
    return 2;
  }
  RepositoryScan scan;
  if (Status s = ScanModelRepository(base.models_dir, &scan); !s.ok()) {
    spdlog::error("{} (run `epara models demo {}` first)", s.ToString(), base.models_dir);
    return 2;
  }
  sim::SimOptions options;
  options.seed = f.seed;
  options.network_ms = f.network_ms;
  options.bandwidth_mb_s = f.bandwidth_mb_s;
  options.request_timeout_s = f.request_timeout_s;
  options.host_cores = f.host_cores;
  options.twin = f.twin;
  if (f.sync.rfind("zone:", 0) == 0) {
    options.zone_size = std::atoi(f.sync.c_str() + 5);
  } else if (f.sync != "all") {
    spdlog::error("--sync: 'all' or 'zone:SIZE'");
    return 2;
  }
  std::vector<std::pair<std::string, double>> work;
  if (!ParsePairs(f.request_work, &work)) {
    spdlog::error("--request-work: expected SIDE:MS,SIDE:MS");
    return 2;
  }
  for (const auto& [side, ms] : work) options.request_work_ms[std::atoi(side.c_str())] = ms;
  for (const std::string& text : f.faults) {
    sim::SimFault fault;
    if (Status s = ParseFault(text, &fault); !s.ok()) {
      spdlog::error("{}", s.message());
      return 2;
    }
    options.faults.push_back(fault);
  }
  sim::ScaleOptions scale;
  scale.nodes = f.nodes;
  scale.copies = std::max(1, f.copies);
  scale.serve_per_node = f.serve_per_node;
  scale.seed = f.seed;
  scale.zone_size = options.zone_size;
  if (!f.mix.empty()) {
    scale.mix.clear();
    if (!ParsePairs(f.mix, &scale.mix)) {
      spdlog::error("--mix: expected CLASS:SHARE,CLASS:SHARE");
      return 2;
    }
  }
  std::vector<std::string> workload_models;
  for (const loadgen::WorkloadSpec& s : specs)
    for (const loadgen::ServiceLoad& l : s.services)
      if (std::find(workload_models.begin(), workload_models.end(), l.model) ==
          workload_models.end())
        workload_models.push_back(l.model);
  const double node_factor =
      f.nodes > 0 ? static_cast<double>(f.nodes) / std::max<size_t>(1, base.nodes.size()) : 1;

  std::vector<loadgen::RunLog> runs;
  std::vector<RunStats> all_stats;
  const auto t_start = std::chrono::steady_clock::now();
  // Artifact sizes are read once; every policy starts from copies of these.
  const std::vector<node::ModelFootprint> base_footprints =
      node::ModelFootprints(scan.models, base_profiles);
  for (const std::string& policy : f.policies) {
    node::ClusterConfig config = base;
    std::vector<ModelDescriptor> models = scan.models;
    std::vector<allocator::Profile> profiles = base_profiles;
    std::vector<node::ModelFootprint> footprints = base_footprints;
    if (f.nodes > 0)
      if (Status s = sim::ScaleCluster(base, scale, workload_models, &config, &models, &footprints,
                                       &profiles);
          !s.ok()) {
        spdlog::error("{}", s.ToString());
        return 2;
      }
    config.plan_profiles = fs::absolute(f.profiles).string();  // as `epara bench` passes them
    std::vector<std::string> setup;
    if (Status s = node::ApplyPolicyAndPlan(policy, models, footprints, profiles, &config, &setup);
        !s.ok()) {
      spdlog::error("--policy: {}", s.message());
      return 2;
    }
    if (!config.pipelines.empty()) {  // the stages `epara up` would start (same planner)
      std::vector<std::string> lines;
      if (Status s = PlanClusterPipelines(&config, &lines); !s.ok()) {
        spdlog::error("{}", s.ToString());
        return 2;
      }
      for (const std::string& l : lines) setup.push_back("plan: pipeline " + l);
    }
    for (const std::string& line : setup)  // the categorized plan (not the per-node lines)
      if (line.rfind("plan: ", 0) == 0 || line.find("pipelines dropped") != std::string::npos) {
        spdlog::info("sim policy {}: {}", policy, line);
        notes.push_back(policy + " " + line);
      }
    std::set<std::string> needed;
    for (const std::string& m : workload_models)
      for (int k = 0; k < scale.copies; ++k)
        needed.insert(scale.copies > 1 ? m + "-" + std::to_string(k) : m);
    sim::SimSpec spec;
    if (Status s = sim::BuildSimSpec(config, models, footprints, profiles, options, needed, &spec);
        !s.ok()) {
      spdlog::error("{}", s.ToString());
      return 2;
    }
    if (f.route_peers >= 0)
      for (sim::SimNodeSpec& n : spec.nodes) n.route_peers = f.route_peers;
    for (const loadgen::WorkloadSpec& w : specs) {
      // Each workload service, and with copies each of its copies, is one simulated service.
      std::vector<std::string> names;
      for (const loadgen::ServiceLoad& l : w.services)
        for (int k = 0; k < scale.copies; ++k)
          names.push_back(scale.copies > 1 ? l.model + "-" + std::to_string(k) : l.model);
      for (double rate : w.rates)
        for (int repeat = 0; repeat < f.repeats; ++repeat) {
          const double offered = rate * node_factor;
          std::vector<loadgen::ScheduledRequest> warm, measured;
          const loadgen::WorkloadSpec wr = ForRepeat(w, repeat);
          loadgen::WorkloadSpec ws = wr;
          ws.duration_s = f.warmup_s;
          if (f.warmup_s > 0)
            (void)loadgen::BuildSchedule(ws, w.rates.front() * node_factor, &warm);
          (void)loadgen::BuildSchedule(wr, offered, &measured);
          std::vector<loadgen::ScheduledRequest> schedule;
          for (const auto& r : warm) schedule.push_back(r);
          for (auto r : measured) {
            r.at_s += f.warmup_s;
            schedule.push_back(r);
          }
          sim::SpreadOverScaledCluster(scale, config, f.nodes > 0, f.uniform_ingress, &schedule);
          std::vector<sim::SimOutcome> outcomes;
          RunStats rs;
          rs.policy = policy;
          rs.workload = w.name;
          rs.rate = rate;
          rs.nodes = static_cast<int>(config.nodes.size());
          rs.requests = measured.size();
          const auto t0 = std::chrono::steady_clock::now();
          spec.options.seed = f.seed + static_cast<uint64_t>(repeat);
          if (Status s = sim::Simulate(spec, names, schedule, f.warmup_s + w.duration_s, &outcomes,
                                       &rs.stats);
              !s.ok()) {
            spdlog::error("policy {}, workload {}: {}", policy, w.name, s.ToString());
            return 2;
          }
          rs.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          rs.simulated_s = f.warmup_s + w.duration_s;
          loadgen::RunLog log;
          log.policy = policy;
          log.workload = w.name;
          log.rate = rate;
          log.repeat = repeat;
          log.duration_s = w.duration_s;
          int met = 0;
          for (size_t k = warm.size(); k < schedule.size(); ++k) {
            const sim::SimOutcome& o = outcomes[k];
            workload::RequestRecord rec;
            rec.sent_s = schedule[k].at_s - f.warmup_s;
            rec.ok = o.ok;
            rec.e2e_ms = o.e2e_ms;
            rec.ttft_ms = o.ttft_ms;
            rec.tpot_ms = o.tpot_ms;
            log.records.push_back(rec);
            const int service = schedule[k].service / scale.copies;
            log.service.push_back(service);
            log.status.push_back(o.status);
            log.lateness_ms.push_back(0);
            log.ingress.push_back(schedule[k].ingress);
            log.node.push_back(o.node);
            met += workload::MeetsSlo(rec, w.services[service].slo);
          }
          if (config.nodes.size() <= 64)
            for (const auto& [node, busy] : rs.stats.node_busy) {
              const size_t from = static_cast<size_t>(f.warmup_s);
              for (size_t s = from; s < busy.size() && s < from + size_t(w.duration_s); ++s)
                log.node_busy[node].push_back(busy[s]);
            }
          rs.attainment = log.records.empty() ? 0 : static_cast<double>(met) / log.records.size();
          if (log.records.size() > f.max_report_requests) {
            // A sample for the report (every k-th request); sim_stats.json has the exact share.
            const size_t k =
                (log.records.size() + f.max_report_requests - 1) / f.max_report_requests;
            loadgen::RunLog thin = log;
            thin.records.clear();
            thin.service.clear();
            thin.status.clear();
            thin.lateness_ms.clear();
            thin.ingress.clear();
            thin.node.clear();
            for (size_t i = 0; i < log.records.size(); i += k) {
              thin.records.push_back(log.records[i]);
              thin.service.push_back(log.service[i]);
              thin.status.push_back(log.status[i]);
              thin.lateness_ms.push_back(0);
              thin.ingress.push_back(log.ingress[i]);
              thin.node.push_back(log.node[i]);
            }
            log = std::move(thin);
          }
          spdlog::info(
              "sim policy {:<14} workload {:<12} rate {:7.2f}/s{}: {:6} requests, {:5.1f}% met SLO "
              "({} nodes, {:.2f} s wall, {} events)",
              policy, w.name, offered,
              f.repeats > 1 ? " repeat " + std::to_string(repeat) : std::string(), rs.requests,
              100.0 * rs.attainment, config.nodes.size(), rs.wall_s, rs.stats.events);
          runs.push_back(std::move(log));
          all_stats.push_back(std::move(rs));
        }
    }
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  char line[300];
  std::snprintf(line, sizeof line,
                "simulated by epara sim (issue 23), seed %llu: %d nodes, %.1f s of wall time for "
                "%zu runs; request work %s ms by image side, forward hop %.2f ms",
                static_cast<unsigned long long>(f.seed),
                all_stats.empty() ? 0 : all_stats.front().nodes, wall, all_stats.size(),
                f.request_work.c_str(), f.network_ms);
  notes.push_back(line);
  notes.push_back("profiles: " + f.profiles);
  // The modes each policy ran (issue 24's per-mode report): spatial splits, per workload.
  std::map<std::pair<std::string, std::string>, std::array<uint64_t, 4>> modes;
  for (const RunStats& r : all_stats) {
    auto& m = modes[{r.policy, r.workload}];
    m[0] += r.requests;
    m[1] += r.stats.split_requests;
    m[2] += r.stats.tiles;
    m[3] += r.stats.remote_tiles;
  }
  for (const auto& [key, m] : modes)
    if (m[1] > 0)
      notes.push_back(key.first + " on " + key.second + ": " + std::to_string(m[1]) +
                      " spatial splits (warm-up included; " + std::to_string(m[0]) +
                      " measured requests), " + std::to_string(m[2]) + " tiles (" +
                      std::to_string(m[3]) + " on peers)");
  if (f.twin) notes.push_back(TwinNote(all_stats));
  std::error_code ec;
  fs::create_directories(f.out, ec);
  if (Status s = loadgen::WriteReport(f.out, f.command_line, runs, services, notes); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  // The simulator's own numbers per run: cost, sync traffic, staleness, controller.
  json st = json::array();
  for (const RunStats& r : all_stats) {
    // Digests flow for as long as the simulation runs (the load, then draining it).
    const double per_node_s = r.nodes * std::max(r.simulated_s, r.stats.end_s);
    st.push_back(
        {{"policy", r.policy},
         {"workload", r.workload},
         {"rate", r.rate},
         {"nodes", r.nodes},
         {"requests", r.requests},
         {"slo_attainment", r.attainment},
         {"simulated_s", r.simulated_s},
         {"end_s", r.stats.end_s},
         {"wall_s", r.wall_s},
         {"events", r.stats.events},
         {"forwards", r.stats.forwards},
         {"mean_route_candidates",
          r.stats.routes ? static_cast<double>(r.stats.route_candidates) / r.stats.routes : 0},
         {"split_requests", r.stats.split_requests},
         {"tiles", r.stats.tiles},
         {"remote_tiles", r.stats.remote_tiles},
         {"digest_messages_per_node_s", r.stats.digests_sent / per_node_s},
         {"digest_bytes_per_node_s", r.stats.digest_bytes / per_node_s},
         {"mean_staleness_ms",
          r.stats.staleness_samples ? r.stats.staleness_ms_sum / r.stats.staleness_samples : 0},
         {"controller_periods", r.stats.controller_periods},
         {"controller_wall_s", r.stats.controller_wall_s},
         {"controller_max_period_wall_s", r.stats.controller_max_wall_s},
         {"deploy_steps", r.stats.deploy_steps},
         {"log", r.stats.log}});
    if (f.twin) st.back()["twin"] = TwinJson(r);
  }
  std::ofstream(fs::path(f.out) / "sim_stats.json") << st.dump(1) << "\n";
  for (const loadgen::WorkloadSummary& w : loadgen::Summarize(runs, services))
    for (const loadgen::PolicySummary& p : w.policies)
      spdlog::info("{:<12} {:<14} goodput@90% {:7.2f} req/s{}", w.workload, p.policy,
                   p.goodput90 * node_factor,
                   p.limit_reached ? "" : " (at least; every swept rate met 90%)");
  if (!f.compare.empty()) {
    if (Status s = sim::WriteValidation(f.compare, runs, services, f.out, f.command_line);
        !s.ok()) {
      spdlog::error("--compare: {}", s.ToString());
      return 1;
    }
    spdlog::info("validation: {}/validation.md", f.out);
  }
  spdlog::info("report: {}/report.md (sim_stats.json beside it)", f.out);
  return 0;
}

}  // namespace

void RegisterSimCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<SimFlags>();
  CLI::App* cmd = app.add_subcommand(
      "sim", "ParaSim: the goodput comparison on a simulated cluster driving the real policies");
  AddComparisonOptions(cmd, flags.get());
  cmd->add_option("--profiles", flags->profiles,
                  "Profiles of every model the workloads use (epara profile --out)")
      ->required();
  cmd->add_flag("--uniform-ingress", flags->uniform_ingress,
                "With --nodes: every service's requests enter at any node (default: each service "
                "copy at its own 1/copies of the nodes)");
  cmd->add_option("--rates", flags->rates, "Replace every workload's swept rates (comma-separated)")
      ->delimiter(',');
  cmd->add_option("--seed", flags->seed, "Seed of the simulation")->capture_default_str();
  cmd->add_option("--nodes", flags->nodes,
                  "Generate this many nodes from --mix (rates scale with them); 0: the file's");
  cmd->add_option("--mix", flags->mix,
                  "Device-class shares, e.g. edge-server:0.05,embedded:0.25,microcomputer:0.7");
  cmd->add_option("--copies", flags->copies, "Services per workload model (with --nodes)")
      ->capture_default_str();
  cmd->add_option("--serve-per-node", flags->serve_per_node,
                  "Services each generated node serves at the start")
      ->capture_default_str();
  cmd->add_option("--network-ms", flags->network_ms, "One forward hop's cost")
      ->capture_default_str();
  cmd->add_option("--bandwidth-mb-s", flags->bandwidth_mb_s,
                  "MB/s between nodes for a spatial tile's bytes (0: not modelled)")
      ->capture_default_str();
  cmd->add_option("--request-work", flags->request_work,
                  "Request work outside the model by image side (SIDE:MS,...)")
      ->capture_default_str();
  cmd->add_option("--host-cores", flags->host_cores,
                  "All nodes share one host of this many cores (the `epara up` testbed); 0: each "
                  "node has its own hardware")
      ->capture_default_str();
  cmd->add_option("--sync", flags->sync,
                  "Load-digest sync: all (all-to-all, as the real nodes) or zone:SIZE")
      ->capture_default_str();
  cmd->add_option("--route-peers", flags->route_peers,
                  "Peers a request weighs in slo-aware routing, on every node (0: all; default: "
                  "the cluster file's route_peers)");
  cmd->add_option("--fault", flags->faults,
                  "crash:NODE@S, recover:NODE@S, loss:SHARE@S, controller-down@S, controller-up@S");
  cmd->add_option("--max-report-requests", flags->max_report_requests,
                  "Runs with more requests keep an even sample of them in report.json")
      ->capture_default_str();
  cmd->add_flag("--twin", flags->twin,
                "The controller weighs each plan in the digital twin and applies it only when "
                "the twin predicts more goodput; the report gives predicted vs observed goodput");
  cmd->add_option("--compare", flags->compare,
                  "A real `epara bench` report.json: write validation.md/json against it");
  cmd->callback([flags, exit_code] {
    std::string c = ComparisonCommandLine("sim", *flags) + " --profiles " + flags->profiles;
    if (flags->host_cores > 0) c += " --host-cores " + std::to_string(flags->host_cores);
    if (flags->sync != "all") c += " --sync " + flags->sync;
    if (flags->route_peers >= 0) c += " --route-peers " + std::to_string(flags->route_peers);
    if (flags->bandwidth_mb_s > 0)
      c += " --bandwidth-mb-s " + std::to_string(flags->bandwidth_mb_s);
    if (flags->uniform_ingress) c += " --uniform-ingress";
    if (flags->twin) c += " --twin";
    if (flags->nodes > 0) c += " --nodes " + std::to_string(flags->nodes);
    if (flags->copies > 1) c += " --copies " + std::to_string(flags->copies);
    if (!flags->rates.empty()) {
      std::string r;
      for (double x : flags->rates) {
        char b[32];
        std::snprintf(b, sizeof b, "%s%g", r.empty() ? "" : ",", x);
        r += b;
      }
      c += " --rates " + r;
    }
    for (const auto& x : flags->faults) c += " --fault " + x;
    if (!flags->compare.empty()) c += " --compare " + flags->compare;
    flags->command_line = c;
    *exit_code = RunSim(*flags);
  });
}

}  // namespace epara::cli
