// `epara deploy --node host:port [--move model:from:to]... [--load model@node]...
//   [--unload model@node]... [--grace-ms N]`: carries out instance changes on a running cluster
// with the adaptive deployment protocol (scheduler/deployment.h): loads first (each one warmed
// up, ready, and visible to every node before the next step), unloads after (stop advertising,
// grace period, drain, free), in an order that keeps every service running.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/credential_flags.h"
#include "controller/deploy_executor.h"
#include "scheduler/deployment.h"

namespace epara::cli {
namespace {

using json = nlohmann::json;

struct DeployFlags {
  std::string node;
  std::vector<std::string> moves, loads, unloads;
  int grace_ms = -1;  // -1: the node's default
  int visible_timeout_s = 30;
  std::string token_file;
};

int RunDeploy(const DeployFlags& f) {
  std::string credential, text;
  if (!ReadCredential(f.token_file, &credential)) return 2;
  if (Status s = controller::FetchClusterView(f.node, &text, credential); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  const json view = json::parse(text, nullptr, false);
  if (!view.is_object()) {
    std::fprintf(stderr, "the node at %s answered no cluster view\n", f.node.c_str());
    return 1;
  }
  std::map<std::string, std::string> api;  // node id -> API address
  scheduler::Instances current;
  for (const auto& n : view["nodes"]) {
    api[n["id"]] = n["api_address"];
    for (const auto& i : n["instances"])
      current[i["model"]].insert(n["id"].get<std::string>());  // LLMs move too (issue 24)
  }
  scheduler::Instances target = current;
  auto parse = [&](const std::string& spec, char sep, std::vector<std::string>* parts) {
    parts->clear();
    size_t start = 0;
    for (size_t i = 0; i <= spec.size(); ++i)
      if (i == spec.size() || spec[i] == sep) {
        parts->push_back(spec.substr(start, i - start));
        start = i + 1;
      }
  };
  std::vector<std::string> p;
  auto known = [&](const std::string& node) {
    if (api.count(node)) return true;
    std::fprintf(stderr, "node '%s' is not a live member of the cluster\n", node.c_str());
    return false;
  };
  for (const std::string& m : f.moves) {
    parse(m, ':', &p);
    if (p.size() != 3 || !known(p[1]) || !known(p[2])) {
      std::fprintf(stderr, "--move takes model:from:to with live nodes, got '%s'\n", m.c_str());
      return 2;
    }
    target[p[0]].erase(p[1]);
    target[p[0]].insert(p[2]);
  }
  for (const std::string& l : f.loads) {
    parse(l, '@', &p);
    if (p.size() != 2 || !known(p[1])) return 2;
    target[p[0]].insert(p[1]);
  }
  for (const std::string& u : f.unloads) {
    parse(u, '@', &p);
    if (p.size() != 2 || !known(p[1])) return 2;
    target[p[0]].erase(p[1]);
  }
  std::erase_if(target, [](const auto& kv) { return kv.second.empty(); });
  std::vector<scheduler::DeployStep> steps;
  // Memory is checked by each node when it loads (its budget); the order here keeps services up.
  if (Status s = scheduler::PlanDeployment(current, target, {}, {}, &steps); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  if (steps.empty()) std::printf("nothing to change\n");
  controller::ExecuteOptions eo;
  eo.grace_ms = f.grace_ms;
  eo.visible_timeout = std::chrono::seconds(f.visible_timeout_s);
  eo.credential = credential;
  eo.log = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  if (Status s = controller::ExecuteDeployment(steps, api, eo); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterDeployCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<DeployFlags>();
  CLI::App* cmd = app.add_subcommand(
      "deploy", "Move, add or remove instances on a running cluster without losing requests");
  cmd->add_option("--node", f->node, "Any node's API, host:port")->required();
  cmd->add_option("--move", f->moves, "model:from:to (repeatable)");
  cmd->add_option("--load", f->loads, "model@node: add an instance (repeatable)");
  cmd->add_option("--unload", f->unloads, "model@node: remove an instance (repeatable)");
  cmd->add_option("--grace-ms", f->grace_ms,
                  "How long an unloaded instance keeps serving what still reaches it (default: "
                  "the node's, max(1 s, 3 sync intervals))");
  AddTokenFileOption(cmd, &f->token_file);
  cmd->callback([f, exit_code] { *exit_code = RunDeploy(*f); });
}

}  // namespace epara::cli
