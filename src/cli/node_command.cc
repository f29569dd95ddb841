// `epara node --config node.yaml`: one node of an epara cluster (src/node/node_agent.h).
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/process_support.h"
#include "node/node_agent.h"

namespace epara::cli {
namespace {

struct NodeFlags {
  std::string config;
  std::string port_file;
};

int RunNode(const NodeFlags& flags) {
  const sigset_t stop_signals = BlockStopSignals();
  node::NodeConfig config;
  if (Status s = node::LoadNodeConfig(flags.config, &config); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 2;
  }
  backend::BackendRegistry backends;
  if (!RegisterBackends(&backends)) return 1;
  api::ServerOptions options;
  options.llm_loader = LibTorchLlmLoader();
  options.llm_stage_loader = LibTorchLlmStageLoader();
  std::unique_ptr<node::NodeAgent> agent;
  if (Status s = node::NodeAgent::Create(config, options, &backends, &agent); !s.ok()) {
    spdlog::error("node {}: cannot start: {}", config.id, s.ToString());
    return 1;
  }
  for (const std::string& w : agent->security_warnings()) spdlog::warn("{}", w);
  LogModels(agent->server());
  if (Status s = agent->Start(); !s.ok()) {
    spdlog::error("node {}: {}", config.id, s.ToString());
    return 1;
  }
  spdlog::info("node {} ({}) serving on http://{}:{}, peers on {}:{}, store {}", config.id,
               config.device_class, config.api_host, agent->api_port(), config.peer_host,
               agent->peer_port(), config.store_kind);
  if (agent->grpc_port() > 0)
    spdlog::info("node {}: KServe v2 gRPC on {}:{}", config.id, config.api_host,
                 agent->grpc_port());
  WritePortFile(
      flags.port_file,
      std::to_string(agent->api_port()) + " " + std::to_string(agent->peer_port()) +
          (agent->grpc_port() > 0 ? " " + std::to_string(agent->grpc_port()) : std::string()));
  const int sig = WaitForStopSignal(stop_signals);
  spdlog::info("signal {}: leaving the cluster, answering requests in flight", sig);
  agent->Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void RegisterNodeCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<NodeFlags>();
  CLI::App* cmd = app.add_subcommand("node", "Run one node of an epara cluster");
  cmd->add_option("--config", flags->config, "Node config (YAML; see src/node/node_config.h)")
      ->required();
  cmd->add_option("--port-file", flags->port_file,
                  "Write '<api port> <peer port>[ <grpc port>]' to this file once listening");
  cmd->callback([flags, exit_code] { *exit_code = RunNode(*flags); });
}

}  // namespace epara::cli
