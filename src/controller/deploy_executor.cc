#include "controller/deploy_executor.h"

#include <httplib.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

namespace epara::controller {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::unique_ptr<httplib::Client> Client(const std::string& address, int read_timeout_s,
                                        const std::string& credential) {
  const size_t colon = address.rfind(':');
  auto c = std::make_unique<httplib::Client>(address.substr(0, colon),
                                             std::atoi(address.substr(colon + 1).c_str()));
  c->set_connection_timeout(3, 0);
  c->set_read_timeout(read_timeout_s, 0);
  if (!credential.empty()) c->set_bearer_token_auth(credential);
  return c;
}

// Whether the node at `address` sees `model` ready on `node` (its own state, or a peer's digest).
bool SeesReady(const std::string& address, const std::string& node, const std::string& model,
               const std::string& credential) {
  std::string text;
  if (!FetchClusterView(address, &text, credential).ok()) return false;
  const json v = json::parse(text, nullptr, false);
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

}  // namespace

Status FetchClusterView(const std::string& address, std::string* out,
                        const std::string& credential) {
  auto r = Client(address, 10, credential)->Get("/v1/cluster");
  if (r && (r->status == 401 || r->status == 403))
    return Status(r->status == 401 ? StatusCode::kUnauthenticated : StatusCode::kPermissionDenied,
                  "the node at " + address + " refused " +
                      (credential.empty() ? std::string("a request without credential")
                                          : std::string("the credential")) +
                      " (HTTP " + std::to_string(r->status) + ")");
  if (!r || r->status != 200) return Unavailable("no epara node answers at " + address);
  *out = r->body;
  return Status::Ok();
}

Status ExecuteDeployment(const std::vector<scheduler::DeployStep>& steps,
                         const std::map<std::string, std::string>& api, const ExecuteOptions& o) {
  for (const scheduler::DeployStep& st : steps) {
    const bool load = st.kind == scheduler::DeployStep::Kind::kLoad;
    auto node = api.find(st.node);
    if (node == api.end()) return NotFound("node '" + st.node + "' is not a live member");
    const auto t0 = Clock::now();
    std::string path = "/v1/internal/instances/" + st.service + (load ? "/load" : "/unload");
    if (!load && o.grace_ms >= 0) path += "?grace_ms=" + std::to_string(o.grace_ms);
    auto r = Client(node->second, 600, o.credential)->Post(path, "", "application/json");
    if (!r || r->status != 200)
      return Unavailable(std::string(load ? "load " : "unload ") + st.service + " on " + st.node +
                         " failed: " + (r ? r->body : httplib::to_string(r.error())));
    if (load) {
      // Shift traffic only once every node routes to the new instance.
      const auto until = Clock::now() + o.visible_timeout;
      for (const auto& [id, address] : api)
        while (!SeesReady(address, st.node, st.service, o.credential)) {
          if (Clock::now() > until)
            return Unavailable("node " + id + " does not see " + st.service + " ready on " +
                               st.node);
          std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling, bounded
        }
    }
    if (o.log) {
      char line[200];
      std::snprintf(line, sizeof line, "%-6s %-16s %-12s %8.0f ms", load ? "load" : "unload",
                    st.service.c_str(), st.node.c_str(),
                    std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      std::string text = line;
      // An LLM's unload waits for its streams in flight: say how many.
      const json answer = json::parse(r->body, nullptr, false);
      if (answer.is_object() && answer.contains("drained_requests"))
        text += "  (" + answer["drained_requests"].dump() + " in flight drained)";
      o.log(text);
    }
  }
  return Status::Ok();
}

Status ExecuteLlmModeSteps(const std::vector<LlmModeStep>& steps,
                           const std::map<std::string, std::string>& api, const ExecuteOptions& o) {
  using Kind = LlmModeStep::Kind;
  for (const LlmModeStep& st : steps) {
    auto node = api.find(st.node);
    if (node == api.end()) return NotFound("node '" + st.node + "' is not a live member");
    const auto t0 = Clock::now();
    const bool whole = st.kind == Kind::kLoadWhole;
    const bool load =
        st.kind == Kind::kLoadWhole || st.kind == Kind::kLoadHead || st.kind == Kind::kLoadStage;
    std::string path = std::string("/v1/internal/") + (whole ? "instances/" : "pipelines/") +
                       st.model + (load ? "/load" : "/unload");
    if (!load && o.grace_ms >= 0) path += "?grace_ms=" + std::to_string(o.grace_ms);
    std::string body;
    if (st.kind == Kind::kLoadHead || st.kind == Kind::kLoadStage) {
      json b = {{"first_layer", st.first_layer}, {"end_layer", st.end_layer}};
      if (!st.next.empty()) b["next"] = st.next;
      if (st.kind == Kind::kLoadHead) b["depth"] = st.depth;
      body = b.dump();
    }
    auto r = Client(node->second, 600, o.credential)->Post(path, body, "application/json");
    if (!r || r->status != 200)
      return Unavailable(DescribeLlmStep(st) +
                         ": failed: " + (r ? r->body : httplib::to_string(r.error())));
    if (st.kind == Kind::kLoadWhole || st.kind == Kind::kLoadHead) {
      const auto until = Clock::now() + o.visible_timeout;
      for (const auto& [id, address] : api)
        while (!SeesReady(address, st.node, st.model, o.credential)) {
          if (Clock::now() > until)
            return Unavailable("node " + id + " does not see " + st.model + " ready on " + st.node);
          std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling, bounded
        }
    }
    if (o.log) {
      char ms[32];
      std::snprintf(ms, sizeof ms, " (%.0f ms)",
                    std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      o.log(DescribeLlmStep(st) + ms);
    }
  }
  return Status::Ok();
}

}  // namespace epara::controller
