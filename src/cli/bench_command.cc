// `epara bench --cluster testbed.yaml --workload w.yaml [--workload ...] --policy epara,triton-like
// --out DIR`: the goodput comparison (issue 7). For each policy it starts the same testbed with
// `epara up --policy P` (a child process at nice 19, so the generator's timers stand in for
// remote clients and are not delayed by the servers), warms every (service, ingress node) up,
// then replays each workload at each swept rate open-loop (loadgen/open_loop.h), sampling the
// nodes' CPU utilization every second, and stops the cluster by PID. Then it writes the report
// (loadgen/report.h). Every run reports the generator's own send lateness (p99 must be <= 1 ms
// for its timing to be exact; a saturated host shows more, and the report says so).
#include <fcntl.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/comparison_flags.h"
#include "cli/process_support.h"
#include "loadgen/http_sender.h"
#include "loadgen/open_loop.h"
#include "loadgen/report.h"
#include "loadgen/twin_accuracy.h"
#include "loadgen/workload_set.h"
#include "loadgen/workload_spec.h"
#include "node/cluster_config.h"
#include "node/serving_policy.h"
#include "security/secrets.h"

namespace epara::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

struct BenchFlags : ComparisonFlags {
  BenchFlags() : ComparisonFlags("out/bench") {}
  std::string profiles;     // empty: profile the workloads' models first (out/profiles.json)
  std::string report_from;  // a report.json to render again instead of running anything
};

// Runs `epara profile` for `models` (one thread, as every testbed node runs them) into `out`.
Status Profile(const std::string& models_dir, const std::set<std::string>& models,
               const fs::path& out) {
  std::vector<std::string> args = {"epara", "profile",   "--models", models_dir, "--threads",
                                   "1",     "--repeats", "3",        "--out",    out.string()};
  for (const std::string& m : models) {
    args.push_back("--model");
    args.push_back(m);
  }
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open((out.string() + ".log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Unavailable("epara profile failed; see " + out.string() + ".log");
  return Status::Ok();
}

pid_t SpawnUp(const BenchFlags& f, const std::string& policy, const fs::path& run) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int fd = open((run / "up.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
  }
  (void)setpriority(PRIO_PROCESS, 0, 19);  // the servers yield to the generator's timers
  (void)prctl(PR_SET_PDEATHSIG, SIGTERM);  // the cluster stops if the bench dies
  execl("/proc/self/exe", "epara", "up", "--cluster", f.cluster.c_str(), "--policy", policy.c_str(),
        "--profiles", f.profiles.c_str(), "--run-dir", (run / "nodes").c_str(), "--endpoints-file",
        (run / "endpoints.json").c_str(), static_cast<char*>(nullptr));
  _exit(127);
}

void StopUp(pid_t pid) {
  kill(pid, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!ChildExited(pid)) {
    if (Clock::now() > deadline) {
      spdlog::warn("epara up (pid {}) did not stop in 60 s: killing it", pid);
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a child, bounded
  }
}

// Every node's digest as the other nodes last received it (a node's /v1/cluster lists its peers
// with their digests, not itself), from each node that answers within a second; `answered`: how
// many did.
std::vector<json> PeerDigests(const std::map<std::string, int>& ports,
                              const std::string& credential, int* answered = nullptr) {
  std::vector<json> out;
  if (answered) *answered = 0;
  for (const auto& [id, port] : ports) {
    httplib::Client c("127.0.0.1", port);
    if (!credential.empty()) c.set_bearer_token_auth(credential);  // /v1/cluster is admin
    c.set_connection_timeout(1, 0);
    c.set_read_timeout(1, 0);
    auto res = c.Get("/v1/cluster");
    if (!res || res->status != 200) continue;
    json v = json::parse(res->body, nullptr, false);
    if (!v.is_object() || !v.contains("nodes")) continue;
    if (answered) ++*answered;
    for (auto& n : v["nodes"])
      if (!n.value("self", false) && n.contains("digest")) {
        n["digest"]["node"] = n.value("id", "");
        out.push_back(std::move(n["digest"]));
      }
  }
  return out;
}

// The controller's period records (GET /v1/plans) from the first node that answers, merged into
// `by_period` (the store keeps only the last ones: read after every rate point).
void CollectPlans(const std::map<std::string, int>& ports, const std::string& credential,
                  std::map<uint64_t, json>* by_period) {
  for (const auto& [id, port] : ports) {
    httplib::Client c("127.0.0.1", port);
    if (!credential.empty()) c.set_bearer_token_auth(credential);
    c.set_connection_timeout(1, 0);
    c.set_read_timeout(2, 0);
    auto res = c.Get("/v1/plans");
    if (!res || res->status != 200) continue;
    loadgen::MergePlanRecords(json::parse(res->body, nullptr, false), by_period);
    return;
  }
}

// Every node's CPU utilization as its peers last saw it.
std::map<std::string, double> SampleUtilization(const std::map<std::string, int>& ports,
                                                const std::string& credential) {
  std::map<std::string, double> out;
  for (const json& d : PeerDigests(ports, credential))
    out[d.value("node", "")] = d.value("cpu_utilization", 0.0);
  return out;
}

// Waits until no node has work queued or running, as their peers' digests show it, in two
// reads in a row (a digest is up to a sync interval old), for at most `bound`: a rate point's
// backlog (requests whose clients gave up still run to their end) must not spill into the next
// point. Returns the seconds waited; < 0 when the bound passed first.
double SettleCluster(const std::map<std::string, int>& ports, const std::string& credential,
                     std::chrono::seconds bound) {
  const auto t0 = Clock::now();
  int quiet_reads = 0;
  while (Clock::now() - t0 < bound) {
    uint64_t busy = 0;
    int answered = 0;
    for (const json& d : PeerDigests(ports, credential, &answered))
      for (const auto& i : d.value("instances", json::array()))
        busy += i.value("queue_length", 0u) + i.value("in_flight", 0u);
    quiet_reads = answered > 0 && busy == 0 ? quiet_reads + 1 : 0;
    if (quiet_reads >= 2) return std::chrono::duration<double>(Clock::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // polling the views, bounded
  }
  return -1;
}

// Sends one request per (service, ingress node) until each succeeds (bounded): instances are
// loaded, warm and routable before anything is measured.
Status WarmUp(const loadgen::WorkloadSpec& spec, const loadgen::HttpSender& sender) {
  std::set<std::pair<int, std::string>> todo;
  for (size_t i = 0; i < spec.services.size(); ++i) {
    for (const auto& [node, _] : spec.services[i].ingress) todo.insert({int(i), node});
    if (auto s = spec.shift_ingress.find(spec.services[i].model); s != spec.shift_ingress.end())
      for (const auto& [node, _] : s->second) todo.insert({int(i), node});
  }
  const auto deadline = Clock::now() + std::chrono::seconds(180);
  std::string last;
  while (!todo.empty()) {
    for (auto it = todo.begin(); it != todo.end();) {
      loadgen::ScheduledRequest r;
      r.service = it->first;
      r.ingress = it->second;
      r.image_size = spec.services[r.service].images.front().first;
      r.prompt_tokens = 8;
      r.output_tokens = 4;
      const loadgen::SendOutcome o = sender.Send(r);
      if (o.ok) {
        it = todo.erase(it);
      } else {
        last = spec.services[r.service].model + " at " + r.ingress + ": HTTP " +
               std::to_string(o.status);
        ++it;
      }
    }
    if (todo.empty()) break;
    if (Clock::now() > deadline)
      return Unavailable("warm-up did not succeed within 180 s: " + last);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // retrying a warm-up, bounded
  }
  return Status::Ok();
}

loadgen::RunLog RunOne(const std::string& policy, const loadgen::WorkloadSpec& spec, double rate,
                       const loadgen::HttpSender& sender, const std::map<std::string, int>& ports,
                       const std::vector<loadgen::ScheduledRequest>& schedule,
                       const std::string& credential) {
  loadgen::RunLog log;
  log.policy = policy;
  log.workload = spec.name;
  log.rate = rate;
  log.duration_s = spec.duration_s;
  std::vector<double> times;
  for (const auto& r : schedule) times.push_back(r.at_s);
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    auto next = Clock::now();
    while (!done.load()) {
      for (const auto& [node, u] : SampleUtilization(ports, credential))
        log.node_busy[node].push_back(u);
      next += std::chrono::seconds(1);
      while (!done.load() && Clock::now() < next)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a sampling period
    }
  });
  const loadgen::OpenLoopResult r =
      loadgen::RunOpenLoop(times, [&](size_t i) { return sender.Send(schedule[i]); });
  done = true;
  sampler.join();
  for (size_t i = 0; i < schedule.size(); ++i) {
    workload::RequestRecord rec;
    rec.sent_s = schedule[i].at_s;
    rec.ok = r.outcomes[i].ok;
    rec.e2e_ms = r.outcomes[i].e2e_ms;
    rec.ttft_ms = r.outcomes[i].ttft_ms;
    rec.tpot_ms = r.outcomes[i].tpot_ms;
    log.records.push_back(rec);
    log.service.push_back(schedule[i].service);
    log.status.push_back(r.outcomes[i].status);
    log.lateness_ms.push_back(r.lateness_ms[i]);
    log.ingress.push_back(schedule[i].ingress);
    log.node.push_back(r.outcomes[i].node);
  }
  log.lateness_p50_ms = r.lateness_p50_ms;
  log.lateness_p99_ms = r.lateness_p99_ms;
  log.lateness_max_ms = r.lateness_max_ms;
  log.max_in_flight = r.max_in_flight;
  log.realtime = r.realtime;
  return log;
}

int RunBench(const BenchFlags& f) {
  std::vector<std::string> notes;
  loadgen::WorkloadSet set;
  if (!LoadComparisonWorkloads(f, {}, &set, &notes)) return 2;
  const std::vector<loadgen::WorkloadSpec>& specs = set.specs;
  const auto& services = set.services;
  if (!f.report_from.empty()) {
    // The same report from a finished run's per-request log; the SLOs come from the workloads.
    std::vector<loadgen::RunLog> runs;
    std::string command;
    std::vector<std::string> old_notes;
    if (Status st = loadgen::ReadReportRuns(f.report_from, &runs, &command, &old_notes); !st.ok()) {
      spdlog::error("{}", st.ToString());
      return 2;
    }
    old_notes.push_back("rendered again from " + f.report_from + " (" + f.command_line +
                        " --report-from)");
    if (Status st = loadgen::WriteReport(f.out, command, runs, services, old_notes); !st.ok()) {
      spdlog::error("{}", st.ToString());
      return 1;
    }
    spdlog::info("report: {}/report.md", f.out);
    return 0;
  }
  for (const std::string& p : f.policies) {
    node::ServingPolicy unused;
    if (!node::ParseServingPolicy(p, &unused)) {
      spdlog::error("--policy: unknown policy '{}'", p);
      return 2;
    }
  }
  const fs::path out = fs::absolute(f.out);
  std::error_code mk;
  fs::create_directories(out, mk);
  // Profiles: epara's plan (the categorized allocator) reads them, and the baselines' max batch is
  // tuned from them the way a Triton user's model analyzer would (node/serving_policy.h).
  BenchFlags flags = f;
  if (flags.profiles.empty()) {
    node::ClusterConfig cluster;
    if (Status s = node::LoadClusterConfig(f.cluster, /*store_port=*/1, &cluster); !s.ok()) {
      spdlog::error("{}", s.ToString());
      return 2;
    }
    std::set<std::string> models;
    for (const loadgen::WorkloadSpec& s : specs)
      for (const loadgen::ServiceLoad& l : s.services)
        if (!l.llm) models.insert(l.model);
    flags.profiles = (out / "profiles.json").string();
    if (!models.empty()) {
      spdlog::info("profiling {} model(s) for the plan and the baselines' batch sizes",
                   models.size());
      if (Status s = Profile(cluster.models_dir, models, flags.profiles); !s.ok()) {
        spdlog::error("{}", s.ToString());
        return 1;
      }
    } else {
      std::ofstream(flags.profiles) << "{\"profiles\": []}\n";
    }
    notes.push_back("profiles: " + flags.profiles + " (epara profile, 1 thread, on this host)");
  }
  std::vector<loadgen::RunLog> runs;
  const auto t_start = Clock::now();
  for (const std::string& policy : f.policies) {
    const fs::path run = out / "runs" / policy;
    std::error_code ec;
    fs::remove_all(run, ec);
    fs::create_directories(run, ec);
    const pid_t up = SpawnUp(flags, policy, run);
    if (up < 0) {
      spdlog::error("cannot start epara up");
      return 1;
    }
    std::map<std::string, int> ports;
    // epara up's cluster credential: the utilization comes from /v1/cluster.
    std::string credential, token_file;
    const auto deadline = Clock::now() + std::chrono::seconds(240);
    for (;;) {
      const json ep = json::parse(ReadTextFile((run / "endpoints.json").string()), nullptr, false);
      if (ep.is_object()) {
        for (const auto& n : ep["nodes"])
          ports[n["id"].get<std::string>()] = n["api_port"].get<int>();
        token_file = ep.value("token_file", "");
        (void)security::ReadSecretFile(token_file, &credential);
        break;
      }
      if (ChildExited(up) || Clock::now() > deadline) {
        spdlog::error("policy {}: epara up did not come up; see {}", policy,
                      (run / "up.log").string());
        if (!ChildExited(up)) StopUp(up);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a file, bounded
    }
    spdlog::info("policy {}: cluster up ({} nodes)", policy, ports.size());
    std::map<uint64_t, json> plans;  // the controller's period records over the policy's runs
    for (const loadgen::WorkloadSpec& spec : specs) {
      std::unique_ptr<loadgen::HttpSender> sender;
      Status s = loadgen::HttpSender::Create(spec, ports, &sender);
      if (s.ok()) sender->timeout_s = f.request_timeout_s;
      if (s.ok()) s = WarmUp(spec, *sender);
      if (!s.ok()) {
        spdlog::error("policy {}, workload {}: {}", policy, spec.name, s.ToString());
        notes.push_back("policy " + policy + ", workload " + spec.name + ": " + s.message());
        continue;
      }
      if (f.warmup_s > 0) {  // unmeasured load at the lowest rate: batching and routing settle
        loadgen::WorkloadSpec w = spec;
        w.duration_s = f.warmup_s;
        std::vector<loadgen::ScheduledRequest> schedule;
        if (loadgen::BuildSchedule(w, w.rates.front(), &schedule).ok())
          (void)RunOne(policy, w, w.rates.front(), *sender, {}, schedule, credential);
        (void)SettleCluster(ports, credential, std::chrono::seconds(300));
      }
      // Repeats outermost: each repeat sweeps every rate, so slow drift of the host spreads over
      // the repeats instead of one rate.
      for (int repeat = 0; repeat < f.repeats; ++repeat)
        for (double rate : spec.rates) {
          const loadgen::WorkloadSpec wr = ForRepeat(spec, repeat);
          std::vector<loadgen::ScheduledRequest> schedule;
          (void)loadgen::BuildSchedule(wr, rate, &schedule);
          loadgen::RunLog log = RunOne(policy, wr, rate, *sender, ports, schedule, credential);
          log.repeat = repeat;
          CollectPlans(ports, credential, &plans);
          const double settled = SettleCluster(ports, credential, std::chrono::seconds(300));
          CollectPlans(ports, credential, &plans);
          if (settled < 0)
            notes.push_back("policy " + policy + ", " + spec.name + " at " + std::to_string(rate) +
                            "/s: work still queued 300 s after the run");
          else if (settled > 2)
            spdlog::info("policy {}: the cluster settled {:.1f} s after the run", policy, settled);
          int met = 0;
          for (size_t i = 0; i < log.records.size(); ++i)
            met += workload::MeetsSlo(log.records[i], spec.services[log.service[i]].slo);
          spdlog::info(
              "policy {:<14} workload {:<10} rate {:6.2f}/s: {:4} requests, {:5.1f}% met SLO, "
              "generator lateness p99 {:.2f} ms{}",
              policy, spec.name, rate, log.records.size(),
              log.records.empty() ? 0.0 : 100.0 * met / log.records.size(), log.lateness_p99_ms,
              log.lateness_p99_ms > 1 ? " (OVER 1 ms)" : "");
          runs.push_back(std::move(log));
        }
    }
    StopUp(up);
    if (!plans.empty()) {  // the controller's records, and its twin's accuracy when it has one
      const loadgen::TwinAccuracy twin = loadgen::SummarizeTwin(plans);
      json all = json::array();
      for (const auto& [period, record] : plans) all.push_back(record);
      std::ofstream(run / "plans.json") << all.dump(1) << "\n";
      if (!twin.periods.empty()) {
        std::ofstream(run / "twin.json") << loadgen::TwinAccuracyJson(twin).dump(1) << "\n";
        notes.push_back(loadgen::TwinAccuracyNote(policy, twin));
        spdlog::info("{}", notes.back());
      }
    }
    // The run's throwaway secrets (its credential; its CA and node keys beside it) do not outlive
    // the run: result directories get committed and shared.
    if (!token_file.empty()) {
      fs::remove(token_file, ec);
      fs::remove_all(fs::path(token_file).parent_path() / "tls", ec);
    }
  }
  const double minutes = std::chrono::duration<double>(Clock::now() - t_start).count() / 60;
  notes.push_back("the whole comparison took " + std::to_string(minutes).substr(0, 4) +
                  " minutes on this host");
  double worst = 0;
  size_t realtime = 0;
  for (const auto& r : runs) {
    worst = std::max(worst, r.lateness_p99_ms);
    realtime += r.realtime;
  }
  char line[200];
  std::snprintf(line, sizeof line,
                "generator self-check: worst send lateness p99 over all runs %.2f ms (must be <= 1 "
                "ms); real-time (SCHED_FIFO) generator threads in %zu of %zu runs",
                worst, realtime, runs.size());
  notes.push_back(line);
  if (Status s = loadgen::WriteReport(out.string(), f.command_line, runs, services, notes);
      !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  for (const loadgen::WorkloadSummary& w : loadgen::Summarize(runs, services)) {
    for (const loadgen::PolicySummary& p : w.policies)
      spdlog::info("{:<10} {:<14} goodput@90% {:6.2f} req/s{}", w.workload, p.policy, p.goodput90,
                   p.limit_reached ? "" : " (at least; every swept rate met 90%)");
    if (w.ratio > 0)
      spdlog::info("{:<10} epara / {} = {:.2f}x", w.workload, w.strongest_baseline, w.ratio);
  }
  spdlog::info("report: {}/report.md (JSON and SVG beside it)", out.string());
  if (worst > 1)
    spdlog::warn(
        "the generator was late by more than 1 ms (p99 {:.2f} ms) in some run: the host "
        "was saturated; see the report's lateness column",
        worst);
  return 0;
}

}  // namespace

void RegisterBenchCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Goodput comparison: policies x workloads on a local testbed (issue 7)");
  AddComparisonOptions(cmd, flags.get());
  cmd->add_option("--profiles", flags->profiles,
                  "Profiles to use (epara profile --out); default: profile the models first");
  cmd->add_option("--report-from", flags->report_from,
                  "Render the report again from this report.json (runs nothing; the SLOs come "
                  "from --workload)");
  cmd->callback([flags, exit_code, cmd] {
    flags->command_line = ComparisonCommandLine("bench", *flags);
    (void)cmd;
    *exit_code = RunBench(*flags);
  });
}

}  // namespace epara::cli
