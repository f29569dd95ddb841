// `epara up --cluster cluster.yaml`: a local heterogeneous testbed. Hosts the cluster store (an
// EmbeddedStore behind a StoreGateway), starts one `epara node` process per configured node with
// its device class's profile, prints the endpoints, and on Ctrl-C / SIGTERM stops every node it
// started (by PID: SIGTERM, then SIGKILL after 30 s).
//
// Security with zero configuration: it makes a fresh cluster credential (<run-dir>/cluster.token,
// mode 0600) that the nodes present to each other and to the store, and that the control plane
// (/v1/internal/*, /v1/cluster, `epara status`/`deploy`) asks for, and a cluster CA with one
// certificate per node (<run-dir>/tls/) for mutual TLS on the peer ports (`--no-tls`: plaintext);
// `--api-keys FILE` also puts the model APIs behind client keys.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "allocator/service_plan.h"
#include "cli/commands.h"
#include "cli/pipeline_setup.h"
#include "cli/process_support.h"
#include "cluster/embedded_store.h"
#include "cluster/store_gateway.h"
#include "controller/controller.h"
#include "llm/llama_config.h"
#include "node/cluster_config.h"
#include "node/cluster_plan.h"
#include "node/cluster_setup.h"
#include "node/serving_policy.h"
#include "repo/model_repository.h"
#include "security/api_keys.h"
#include "security/certs.h"
#include "security/secrets.h"
#include "sim/digital_twin.h"
#include "sim/scenario.h"

namespace epara::cli {
namespace {

namespace fs = std::filesystem;

// The controller's digital twin of this cluster (`controller: {twin: true}`): the simulator built
// from the same config, descriptors and profiles `epara sim` would use, with `epara sim`'s
// request work and hop cost, and every node sharing this host's cores as `epara up`'s nodes do.
// Null, with the reason, when it cannot be built (a served model without a profile).
std::shared_ptr<const sim::DigitalTwin> BuildTwin(const node::ClusterConfig& config,
                                                  const std::vector<ModelDescriptor>& models,
                                                  const std::vector<allocator::Profile>& profiles,
                                                  std::string* why) {
  sim::SimOptions o;
  o.network_ms = 0.3;
  o.request_work_ms = {{256, 6}, {384, 12}};
  o.host_cores = std::max(1u, std::thread::hardware_concurrency());
  std::set<std::string> needed;
  for (const node::NodeConfig& n : config.nodes) {
    needed.insert(n.serve_models.begin(), n.serve_models.end());
    if (n.serve_models.empty())
      for (const ModelDescriptor& m : models) needed.insert(m.name);
  }
  sim::SimSpec spec;
  if (Status s = sim::BuildSimSpec(config, models, node::ModelFootprints(models, profiles),
                                   profiles, o, needed, &spec);
      !s.ok()) {
    *why = s.ToString();
    return nullptr;
  }
  return std::make_shared<const sim::DigitalTwin>(std::move(spec));
}

using Clock = std::chrono::steady_clock;

struct UpFlags {
  std::string cluster;
  std::string run_dir = "out/cluster";
  std::string endpoints_file;
  std::string policy;    // empty: the cluster file as written
  std::string profiles;  // replaces the file's plan.profiles
  std::string api_keys;  // client API keys for every node (empty: model APIs open)
  bool public_metrics = false;
  bool no_tls = false;
};

struct Child {
  std::string id;
  pid_t pid = -1;
  int api_port = 0, peer_port = 0, grpc_port = 0;
  std::string log;
};

pid_t SpawnNode(const std::string& config, const std::string& port_file, const std::string& log) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  (void)prctl(PR_SET_PDEATHSIG, SIGTERM);  // a node stops if `epara up` dies, even by SIGKILL
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
  }
  execl("/proc/self/exe", "epara", "node", "--config", config.c_str(), "--port-file",
        port_file.c_str(), static_cast<char*>(nullptr));
  _exit(127);
}

void StopAll(std::vector<Child>& children) {
  for (const Child& c : children)
    if (c.pid > 0) kill(c.pid, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  for (Child& c : children) {
    while (c.pid > 0 && !ChildExited(c.pid)) {
      if (Clock::now() > deadline) {
        spdlog::warn("node {} (pid {}) did not stop in 30 s: killing it", c.id, c.pid);
        kill(c.pid, SIGKILL);
        waitpid(c.pid, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling children, bounded
    }
    c.pid = -1;
  }
}

std::string LogTail(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

int RunUp(const UpFlags& flags) {
  const sigset_t stop_signals = BlockStopSignals();
  std::string credential;
  if (Status s = security::RandomToken("epc-", 32, &credential); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  std::string api_keys;
  if (!flags.api_keys.empty()) {
    security::KeyRing ring;  // checked here: a bad file stops nothing half-started
    if (Status s = security::KeyRing::Load(flags.api_keys, &ring); !s.ok()) {
      spdlog::error("--api-keys: {}", s.ToString());
      return 2;
    }
    api_keys = fs::absolute(flags.api_keys).string();
  }
  cluster::EmbeddedStore store;
  std::unique_ptr<cluster::StoreGateway> gateway;
  if (Status s = cluster::StoreGateway::Start(&store, "127.0.0.1", 0, &gateway, credential);
      !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  node::ClusterConfig config;
  if (Status s = node::LoadClusterConfig(flags.cluster, gateway->port(), &config); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 2;
  }
  if (!flags.profiles.empty()) config.plan_profiles = fs::absolute(flags.profiles).string();
  // The profiles, read once: the baselines' batch sizes, the plan and the controller use them.
  std::vector<allocator::Profile> profiles;
  const Status profiles_read =
      config.plan_profiles.empty()
          ? Status::Ok()
          : allocator::ParseProfiles(ReadTextFile(config.plan_profiles), &profiles);
  if (!profiles_read.ok() && !config.plan_profiles.empty()) {
    spdlog::error("{}: {}", config.plan_profiles, profiles_read.ToString());
    return 2;
  }
  RepositoryScan scan;
  (void)ScanModelRepository(config.models_dir, &scan);
  std::vector<std::string> setup;
  if (Status s = node::ApplyPolicyAndPlan(flags.policy, scan.models,
                                          node::ModelFootprints(scan.models, profiles), profiles,
                                          &config, &setup);
      !s.ok()) {
    spdlog::error("--policy: {}", s.message());
    return 2;
  }
  for (const std::string& line : setup) spdlog::info("{}", line);
  if (!config.pipelines.empty()) {
    std::vector<std::string> lines;
    if (Status s = PlanClusterPipelines(&config, &lines); !s.ok()) {
      spdlog::error("{}", s.ToString());
      return 2;
    }
    for (const std::string& l : lines) spdlog::info("pipeline {}", l);
  }
  std::error_code ec;
  fs::create_directories(flags.run_dir, ec);
  const fs::path run = fs::absolute(flags.run_dir);
  const std::string token_file = (run / "cluster.token").string();
  if (Status s = security::WriteSecretFile(token_file, credential); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  const std::string tls_dir = (run / "tls").string();
  if (!flags.no_tls) {
    fs::remove_all(tls_dir, ec);  // a fresh CA per run: certificates of earlier runs are not valid
    if (Status s = security::CreateCa(tls_dir, "epara up cluster CA", 30); !s.ok()) {
      spdlog::error("{}", s.ToString());
      return 1;
    }
  }
  for (node::NodeConfig& n : config.nodes) {
    if (!flags.no_tls) {
      const std::string prefix = tls_dir + "/" + n.id;
      if (Status s = security::IssueCertificate(tls_dir, n.id, {n.peer_host}, prefix, 30);
          !s.ok()) {
        spdlog::error("{}", s.ToString());
        return 1;
      }
      n.tls_ca = tls_dir + "/ca.pem";
      n.tls_cert = prefix + ".pem";
      n.tls_key = prefix + ".key";
    }
    n.cluster_token_file = token_file;
    n.store_credential = n.store_kind == "etcd";  // the gateway's endpoint
    if (!api_keys.empty()) n.api_keys_file = api_keys;
    n.public_metrics = n.public_metrics || flags.public_metrics;
  }
  std::vector<Child> children;
  for (const node::NodeConfig& n : config.nodes) {
    const std::string base = (run / n.id).string();
    std::ofstream(base + ".yaml") << node::NodeConfigToYaml(n);
    fs::remove(base + ".ports", ec);
    Child c{n.id,         SpawnNode(base + ".yaml", base + ".ports", base + ".log"), 0, 0, 0,
            base + ".log"};
    if (c.pid < 0) {
      spdlog::error("cannot start node {}", n.id);
      StopAll(children);
      return 1;
    }
    children.push_back(c);
  }
  // Wait (bounded) for every node to listen.
  const auto deadline = Clock::now() + std::chrono::seconds(180);
  for (Child& c : children) {
    for (;;) {
      std::ifstream in((run / c.id).string() + ".ports");
      if (in >> c.api_port >> c.peer_port && c.api_port > 0) {
        if (!(in >> c.grpc_port)) c.grpc_port = 0;  // KServe gRPC only where configured
        break;
      }
      if (ChildExited(c.pid)) {
        spdlog::error("node {} exited during start-up:\n{}", c.id, LogTail(c.log));
        c.pid = -1;
        StopAll(children);
        return 1;
      }
      if (Clock::now() > deadline) {
        spdlog::error("node {} did not start within 180 s:\n{}", c.id, LogTail(c.log));
        StopAll(children);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling port files, bounded
    }
  }
  nlohmann::json endpoints = {{"store", "127.0.0.1:" + std::to_string(gateway->port())},
                              {"token_file", token_file},
                              {"nodes", nlohmann::json::array()}};
  spdlog::info("epara cluster up: store 127.0.0.1:{}, {} nodes (logs in {})", gateway->port(),
               children.size(), run.string());
  for (size_t i = 0; i < children.size(); ++i) {
    const Child& c = children[i];
    const node::NodeConfig& n = config.nodes[i];
    std::string serves;
    for (const std::string& m : n.serve_models) serves += (serves.empty() ? "" : ", ") + m;
    spdlog::info("  {:<10} {:<14} http://127.0.0.1:{}  cpu threads {}, speed {:.2f}, serves {}",
                 c.id, n.device_class, c.api_port, n.devices[0].cpu_threads, n.devices[0].cpu_quota,
                 serves.empty() ? "every model" : serves);
    endpoints["nodes"].push_back({{"id", c.id},
                                  {"class", n.device_class},
                                  {"api", "127.0.0.1:" + std::to_string(c.api_port)},
                                  {"api_port", c.api_port},
                                  {"peer_port", c.peer_port},
                                  {"grpc_port", c.grpc_port},
                                  {"pid", c.pid}});
  }
  // The state-aware scheduler, when the cluster file asks for it (it reads the same store).
  std::unique_ptr<controller::Controller> ctl;
  if (config.controller_period_s > 0) {
    controller::ControllerOptions co;
    co.period = std::chrono::milliseconds(static_cast<int64_t>(config.controller_period_s * 1000));
    co.grace_ms = config.controller_grace_ms;
    co.burst_headroom = config.controller_burst_headroom;
    co.log = [](const std::string& line) { spdlog::info("{}", line); };
    if (!config.plan_profiles.empty()) co.profiles = profiles;
    co.credential = credential;
    if (config.controller_twin) {
      std::string why;
      if (auto twin = BuildTwin(config, scan.models, profiles, &why)) {
        co.twin = [twin](const controller::TwinQuery& q, controller::TwinVerdict* v) {
          return twin->Forecast(q, v);
        };
        spdlog::info("controller: each plan is weighed in the digital twin first");
      } else {
        spdlog::warn("controller: no digital twin ({}); plans are applied as made", why);
      }
    }
    if (config.controller_llm_modes)
      for (const auto& [name, shape] : LlmShapes(config.models_dir))
        co.llm_sizes[name] = {shape.layers, shape.layer_bytes, shape.head_bytes, shape.tail_bytes};
    for (const auto& [name, _] : config.pipelines) co.declared_pipelines.insert(name);
    co.llm_expand = config.controller_llm_expand;
    ctl = std::make_unique<controller::Controller>(&store, std::move(co));
    ctl->Start();
    spdlog::info("controller: re-placing services every {:.1f} s", config.controller_period_s);
  }
  WritePortFile(flags.endpoints_file, endpoints.dump(2));
  spdlog::info(
      "any node serves the whole API{}; the control plane (GET /v1/cluster, /v1/internal/*) "
      "asks for the cluster credential: `epara status --node 127.0.0.1:{} --token-file {}`. "
      "Ctrl-C stops it.",
      api_keys.empty() ? "" : " to clients with an API key",
      children.empty() ? 0 : children[0].api_port, token_file);
  // Until a stop signal: report nodes that die (the rest keep serving).
  const timespec tick{1, 0};
  for (;;) {
    const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("signal {}: stopping {} nodes", sig, children.size());
      break;
    }
    for (Child& c : children)
      if (c.pid > 0 && ChildExited(c.pid)) {
        spdlog::warn("node {} (pid {}) exited; the others go on without it", c.id, c.pid);
        c.pid = -1;
      }
  }
  if (ctl) ctl->Stop();  // the last placement stays in force while the nodes stop
  StopAll(children);
  gateway->Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void RegisterUpCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<UpFlags>();
  CLI::App* cmd = app.add_subcommand(
      "up", "Start a local heterogeneous cluster: the store and one node process per node");
  cmd->add_option("--cluster", flags->cluster,
                  "Cluster config (YAML; see src/node/cluster_config.h)")
      ->required();
  cmd->add_option("--run-dir", flags->run_dir, "Node configs, port files and logs go here")
      ->capture_default_str();
  cmd->add_option("--policy", flags->policy,
                  "Serve with a benchmark policy instead of the file's settings: epara, "
                  "replicate-rr, triton-like, alpaserve-like, local-only (node/serving_policy.h)");
  cmd->add_option(
      "--profiles", flags->profiles,
      "Profiles (epara profile --out) for the plan, instead of the file's plan.profiles");
  cmd->add_option("--api-keys", flags->api_keys,
                  "Client API keys (YAML of hashes, `epara keys create`) for every node's model "
                  "APIs (default: open on loopback)");
  cmd->add_flag("--public-metrics", flags->public_metrics, "Serve GET /metrics without a key");
  cmd->add_flag("--no-tls", flags->no_tls,
                "Plaintext peer ports (default: mutual TLS with a CA made for this run)");
  cmd->add_option("--endpoints-file", flags->endpoints_file,
                  "Write the store and node endpoints (JSON) here once every node listens");
  cmd->callback([flags, exit_code] { *exit_code = RunUp(*flags); });
}

}  // namespace epara::cli
