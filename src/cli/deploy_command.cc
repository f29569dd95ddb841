// `epara deploy --node host:port [--move model:from:to]... [--load model@node]...
//   [--unload model@node]... [--grace-ms N]`: carries out instance changes on a running cluster
// with the adaptive deployment protocol (scheduler/deployment.h): loads first (each one warmed
// up, ready, and visible to every node before the next step), unloads after (stop advertising,
// grace period, drain, free), in an order that keeps every service running.
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "scheduler/deployment.h"

namespace epara::cli {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct DeployFlags {
  std::string node;
  std::vector<std::string> moves, loads, unloads;
  int grace_ms = -1;  // -1: the node's default
  int visible_timeout_s = 30;
};

std::unique_ptr<httplib::Client> Client(const std::string& address, int read_timeout_s) {
  const size_t colon = address.rfind(':');
  auto c = std::make_unique<httplib::Client>(address.substr(0, colon),
                                             std::atoi(address.substr(colon + 1).c_str()));
  c->set_connection_timeout(3, 0);
  c->set_read_timeout(read_timeout_s, 0);
  return c;
}

json ClusterView(const std::string& address) {
  auto r = Client(address, 10)->Get("/v1/cluster");
  return r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
}

// Whether the node at `address` sees `model` ready on `node` (its own state, or a peer's digest).
bool SeesReady(const std::string& address, const std::string& node, const std::string& model) {
  const json v = ClusterView(address);
  if (!v.is_object()) return false;
  for (const auto& n : v["nodes"]) {
    if (n["id"] != node) continue;
    bool listed = false;
    for (const auto& i : n["instances"]) listed = listed || i["model"] == model;
    if (n["self"].get<bool>()) return listed;
    if (!listed || !n.contains("digest")) return false;
    for (const auto& i : n["digest"]["instances"])
      if (i["model"] == model) return i["ready"].get<bool>();
  }
  return false;
}

int RunDeploy(const DeployFlags& f) {
  const json view = ClusterView(f.node);
  if (!view.is_object()) {
    std::fprintf(stderr, "no epara node answers at %s\n", f.node.c_str());
    return 1;
  }
  std::map<std::string, std::string> api;  // node id -> API address
  scheduler::Instances current;
  for (const auto& n : view["nodes"]) {
    api[n["id"]] = n["api_address"];
    for (const auto& i : n["instances"])
      if (i["task"] != "llm") current[i["model"]].insert(n["id"].get<std::string>());
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
  for (const scheduler::DeployStep& st : steps) {
    const bool load = st.kind == scheduler::DeployStep::Kind::kLoad;
    const auto t0 = Clock::now();
    std::string path = "/v1/internal/instances/" + st.service + (load ? "/load" : "/unload");
    if (!load && f.grace_ms >= 0) path += "?grace_ms=" + std::to_string(f.grace_ms);
    auto r = Client(api[st.node], 600)->Post(path, "", "application/json");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "%s %s on %s failed: %s\n", load ? "load" : "unload", st.service.c_str(),
                   st.node.c_str(), r ? r->body.c_str() : httplib::to_string(r.error()).c_str());
      return 1;
    }
    if (load) {
      // Shift traffic only once every node routes to the new instance.
      const auto until = Clock::now() + std::chrono::seconds(f.visible_timeout_s);
      for (const auto& [id, address] : api)
        while (!SeesReady(address, st.node, st.service)) {
          if (Clock::now() > until) {
            std::fprintf(stderr, "node %s does not see %s ready on %s after %d s\n", id.c_str(),
                         st.service.c_str(), st.node.c_str(), f.visible_timeout_s);
            return 1;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling, bounded
        }
    }
    std::printf("%-6s %-16s %-12s %8.0f ms\n", load ? "load" : "unload", st.service.c_str(),
                st.node.c_str(),
                std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    std::fflush(stdout);
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
  cmd->callback([f, exit_code] { *exit_code = RunDeploy(*f); });
}

}  // namespace epara::cli
