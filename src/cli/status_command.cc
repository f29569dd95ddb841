// `epara status [--node host:port] [--token-file F]`: the cluster as one node sees it (GET
// /v1/cluster; the admin scope: the cluster credential or an admin key).
#include <httplib.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/credential_flags.h"

namespace epara::cli {
namespace {

int RunStatus(const std::string& node, bool raw, const std::string& token_file) {
  std::string credential;
  if (!ReadCredential(token_file, &credential)) return 2;
  const size_t colon = node.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "--node must be host:port\n");
    return 2;
  }
  httplib::Client client(node.substr(0, colon), std::atoi(node.substr(colon + 1).c_str()));
  client.set_connection_timeout(3, 0);
  client.set_read_timeout(10, 0);
  if (!credential.empty()) client.set_bearer_token_auth(credential);
  auto r = client.Get("/v1/cluster");
  if (r && (r->status == 401 || r->status == 403)) {
    const nlohmann::json e = nlohmann::json::parse(r->body, nullptr, false);
    std::fprintf(stderr, "the node at %s refused: %s (HTTP %d)%s\n", node.c_str(),
                 e.is_object() ? e["error"].value("message", "").c_str() : "", r->status,
                 credential.empty() ? "; pass --token-file with the cluster credential" : "");
    return 1;
  }
  if (!r || r->status != 200) {
    std::fprintf(stderr, "no epara node answers at %s%s\n", node.c_str(),
                 r ? (": HTTP " + std::to_string(r->status)).c_str() : "");
    return 1;
  }
  const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (raw || !j.is_object()) {
    std::printf("%s\n", r->body.c_str());
    return 0;
  }
  std::printf("cluster seen by node %s (store %s, digests every %lld ms, down after %lld ms)\n\n",
              j["node"].get<std::string>().c_str(), j["store"].get<std::string>().c_str(),
              static_cast<long long>(j["sync_interval_ms"].get<int64_t>()),
              static_cast<long long>(j["down_after_ms"].get<int64_t>()));
  std::printf("%-12s %-14s %-22s %-9s %-10s %s\n", "NODE", "CLASS", "API", "GFLOP/s", "DIGEST",
              "INSTANCES (queue/in flight, service ms)");
  for (const auto& n : j["nodes"]) {
    std::string digest = n["self"].get<bool>() ? "self" : "none yet";
    std::string instances;
    std::map<std::string, std::string> load;
    if (n.contains("digest")) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.0f ms", n["digest"]["age_ms"].get<double>());
      digest = buf;
      for (const auto& i : n["digest"]["instances"]) {
        char l[64];
        std::snprintf(l, sizeof l, " (%u/%u, %.1f)", i["queue_length"].get<unsigned>(),
                      i["in_flight"].get<unsigned>(), i["service_ms"].get<double>());
        load[i["model"].get<std::string>()] = l;
      }
    }
    for (const auto& i : n["instances"]) {
      const std::string m = i["model"].get<std::string>();
      instances += (instances.empty() ? "" : ", ") + m + load[m];
    }
    std::printf("%-12s %-14s %-22s %-9.1f %-10s %s\n", n["id"].get<std::string>().c_str(),
                n["device_class"].get<std::string>().c_str(),
                n["api_address"].get<std::string>().c_str(),
                n["devices"].empty() ? 0.0 : n["devices"][0]["speed_gflops"].get<double>(),
                digest.c_str(), instances.c_str());
  }
  return 0;
}

}  // namespace

void RegisterStatusCommand(CLI::App& app, int* exit_code) {
  auto node = std::make_shared<std::string>("127.0.0.1:8000");
  auto raw = std::make_shared<bool>(false);
  auto token_file = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("status", "Show the cluster as a node sees it");
  cmd->add_option("--node", *node, "Any node's API address")->capture_default_str();
  cmd->add_flag("--json", *raw, "Print GET /v1/cluster as it comes");
  AddTokenFileOption(cmd, token_file.get());
  cmd->callback(
      [node, raw, token_file, exit_code] { *exit_code = RunStatus(*node, *raw, *token_file); });
}

}  // namespace epara::cli
