// Secure by default (issue 25): an `epara up` cluster with client API keys. Every route class is
// tried without a key, with a wrong one, with a key that lacks the scope and with the right one;
// a rate-limited key gets 429 + Retry-After; the control plane asks for the cluster credential
// (epara status too); a peer without a certificate from the run's CA, or with one but without the
// credential, cannot forward; a node without the credential cannot join; the cluster keeps
// serving throughout, and no secret reaches a log.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "peer/peer_client.h"
#include "server_process.h"
#include "up_fixture.h"

namespace epara {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const char* kInferBody =
    R"({"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},)"
    R"({"name":"b","shape":[1,4],"datatype":"INT64","data":[1,1,1,1]},)"
    R"({"name":"c","shape":[1,4],"datatype":"UINT8","data":[0,0,0,2]}]})";

// `epara keys create`: the key it prints once (empty on failure, after reporting it).
std::string CreateKey(const std::string& file, const std::string& name,
                      const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"keys", "create", "--file", file, "--name", name};
  args.insert(args.end(), extra.begin(), extra.end());
  std::string out;
  EXPECT_EQ(testing::RunEpara(args, &out), 0) << out;
  std::smatch m;
  static const std::regex kKey("epk-[0-9a-f]{48}");
  if (!std::regex_search(out, m, kKey)) ADD_FAILURE() << "no key in: " << out;
  return m.empty() ? "" : m.str();
}

int Code(httplib::Client& c, const std::string& method, const std::string& path,
         const std::string& key, std::string* body = nullptr, httplib::Headers* headers = nullptr) {
  httplib::Headers h;
  if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
  auto r = method == "GET" ? c.Get(path, h) : c.Post(path, h, kInferBody, "application/json");
  if (!r) return -1;
  if (body) *body = r->body;
  if (headers) *headers = r->headers;
  return r->status;
}

TEST_F(UpE2ETest, KeysScopesAndTheClusterCredentialGuardEveryRouteWhileTheClusterServes) {
  const std::string keys = (root_ / "keys.yaml").string();
  const std::string app = CreateKey(keys, "app", {"--scopes", "infer"});
  const std::string ops = CreateKey(keys, "ops", {"--scopes", "admin"});
  const std::string slow =
      CreateKey(keys, "slow", {"--scopes", "infer", "--rate-per-s", "0.01", "--burst", "2"});
  ASSERT_FALSE(app.empty() || ops.empty() || slow.empty());
  EXPECT_EQ(testing::ReadTextFile(keys).find(app), std::string::npos);  // hashes only
  // tensor-demo on b only: requests that enter at a are forwarded over the authenticated peers.
  std::ofstream(root_ / "sec.yaml") << "models: repo\nnodes:\n"
                                       "  - {id: a, class: edge-server, serve: [seg-demo], "
                                       "cpu_threads: 1}\n"
                                       "  - {id: b, class: edge-server, serve: [tensor-demo], "
                                       "cpu_threads: 1}\n";
  testing::ChildProcess up;
  const json ep = StartUp("sec", &up, {"--api-keys", keys});
  ASSERT_TRUE(ep.is_object());
  ASSERT_FALSE(credential_.empty());
  std::map<std::string, int> port, peer;
  for (const auto& n : ep["nodes"]) {
    port[n["id"]] = n["api_port"];
    peer[n["id"]] = n["peer_port"];
  }
  httplib::Client a("127.0.0.1", port["a"]);
  a.set_read_timeout(30, 0);
  const std::string infer = "/v2/models/tensor-demo/infer";
  // Until a routes tensor-demo to b (b's record and digest reached a).
  bool routed = false;
  for (auto until = Clock::now() + 30s; !routed && Clock::now() < until;) {
    routed = Code(a, "POST", infer, app) == 200;
    if (!routed) std::this_thread::sleep_for(50ms);  // polling state, bounded
  }
  ASSERT_TRUE(routed) << up.Log();

  // Probes stay open; a wrong key does not matter there.
  EXPECT_EQ(Code(a, "GET", "/health", ""), 200);
  EXPECT_EQ(Code(a, "GET", "/v2/health/ready", "nope"), 200);
  // Model APIs: a key with infer (or admin, or the credential); 401 without or with a wrong one.
  std::string body;
  httplib::Headers headers;
  EXPECT_EQ(Code(a, "POST", infer, "", &body, &headers), 401);
  EXPECT_EQ(json::parse(body)["error"]["type"], "unauthenticated") << body;
  EXPECT_EQ(headers.count("WWW-Authenticate"), 1u);
  EXPECT_EQ(Code(a, "POST", infer, "epk-0000", &body), 401);
  EXPECT_EQ(Code(a, "POST", infer, app, &body), 200) << body;
  EXPECT_EQ(json::parse(body)["outputs"][0]["data"], json::parse("[2.0,3.0,4.0,7.0]"));
  EXPECT_EQ(Code(a, "POST", infer, ops), 200);
  EXPECT_EQ(Code(a, "POST", infer, credential_), 200);
  httplib::Client azure("127.0.0.1", port["a"]);  // the api-key header works as well
  auto r = azure.Post(infer, {{"api-key", app}}, kInferBody, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // The control plane: admin or the credential; an infer key is 403.
  EXPECT_EQ(Code(a, "GET", "/v1/cluster", ""), 401);
  EXPECT_EQ(Code(a, "GET", "/v1/cluster", app, &body), 403);
  EXPECT_EQ(json::parse(body)["error"]["type"], "permission_denied") << body;
  EXPECT_NE(body.find("'app'"), std::string::npos) << body;
  EXPECT_EQ(body.find(app), std::string::npos);
  EXPECT_EQ(Code(a, "GET", "/v1/cluster", ops), 200);
  EXPECT_EQ(Code(a, "GET", "/v1/cluster", credential_), 200);
  httplib::Client b("127.0.0.1", port["b"]);
  for (const std::string& key : {std::string(), app})
    EXPECT_EQ(Code(b, "POST", "/v1/internal/instances/tensor-demo/unload", key),
              key.empty() ? 401 : 403);
  EXPECT_EQ(Code(b, "POST", "/v1/internal/split/tensor-demo", ""), 401);
  EXPECT_EQ(Code(a, "POST", infer, app), 200);  // nothing was unloaded
  // /metrics: any valid key.
  EXPECT_EQ(Code(a, "GET", "/metrics", ""), 401);
  EXPECT_EQ(Code(a, "GET", "/metrics", app), 200);
  // The rate-limited key: its burst of 2, then 429 with Retry-After (a token every 100 s).
  EXPECT_EQ(Code(a, "POST", infer, slow), 200);
  EXPECT_EQ(Code(a, "POST", infer, slow), 200);
  EXPECT_EQ(Code(a, "POST", infer, slow, &body, &headers), 429);
  EXPECT_EQ(json::parse(body)["error"]["type"], "rate_limited") << body;
  ASSERT_EQ(headers.count("Retry-After"), 1u);
  EXPECT_GE(std::stoi(headers.find("Retry-After")->second), 1);
  EXPECT_EQ(Code(a, "POST", infer, app), 200);  // other keys are not charged

  // epara status: refused without the credential, served with it.
  std::string out;
  const std::string node_a = "127.0.0.1:" + std::to_string(port["a"]);
  EXPECT_EQ(testing::RunEpara({"status", "--node", node_a}, &out, 30s), 1) << out;
  EXPECT_NE(out.find("--token-file"), std::string::npos) << out;
  ASSERT_EQ(testing::RunEpara({"status", "--node", node_a, "--token-file", token_file_}, &out, 30s),
            0)
      << out;
  EXPECT_NE(out.find("tensor-demo"), std::string::npos) << out;

  // A forged peer cannot forward to b: without a certificate from the run's CA the TLS handshake
  // fails; with one (a's, copied) but a guessed credential the call is refused (and logged).
  const std::filesystem::path tls = root_ / "sec-run" / "tls";
  ASSERT_TRUE(std::filesystem::exists(tls / "ca.pem"));
  security::TlsMaterial stolen;
  ASSERT_TRUE(security::LoadTlsMaterial((tls / "ca.pem").string(), (tls / "a.pem").string(),
                                        (tls / "a.key").string(), &stolen)
                  .ok());
  for (const peer::PeerAuth& auth : {peer::PeerAuth{"", {}}, peer::PeerAuth{"epc-guess", {}},
                                     peer::PeerAuth{"epc-guess", stolen}}) {
    peer::PeerClient mallory("a", "b", "127.0.0.1:" + std::to_string(peer["b"]), auth);
    api::HttpRequest req;
    req.method = "POST";
    req.path = infer;
    req.body = kInferBody;
    api::HttpResponse res;
    bool started = true;
    EXPECT_FALSE(mallory.Forward(req, &res, &started, 5s).ok());
    EXPECT_FALSE(started);
  }
  // A node without the credential cannot join: the store refuses it.
  std::ofstream(root_ / "forged.yaml")
      << "id: forged\nmodels: {dir: " << (root_ / "repo").string()
      << ", serve: [tensor-demo]}\napi: {host: 127.0.0.1, port: 0}\n"
      << "store: {kind: etcd, endpoint: " << ep["store"].get<std::string>() << "}\n";
  EXPECT_NE(testing::RunEpara({"node", "--config", (root_ / "forged.yaml").string()}, &out, 120s),
            0)
      << out;
  EXPECT_NE(out.find("cluster credential"), std::string::npos) << out;
  // Still serving, and the forged attempts were logged by b.
  EXPECT_EQ(Code(a, "POST", infer, app), 200);
  const std::string b_log = testing::ReadTextFile((root_ / "sec-run" / "b.log").string());
  EXPECT_NE(b_log.find("refused a peer call"), std::string::npos) << b_log;
  // No secret in any log.
  std::string logs = up.Log();
  for (const char* id : {"a", "b"})
    logs += testing::ReadTextFile((root_ / "sec-run" / (std::string(id) + ".log")).string());
  for (const std::string& secret : {credential_, app, ops, slow})
    EXPECT_EQ(logs.find(secret), std::string::npos);
  EXPECT_EQ(up.Stop(60s), 0) << up.Log();
}

TEST(ServeSecurityE2ETest, ANonLoopbackBindWithoutKeysNeedsInsecure) {
  // The check runs before anything binds: nothing listens beyond loopback in this test.
  std::string out;
  EXPECT_EQ(testing::RunEpara({"serve", "--models", "/nonexistent", "--host", "0.0.0.0"}, &out), 2)
      << out;
  EXPECT_NE(out.find("--insecure"), std::string::npos) << out;
  EXPECT_NE(out.find("API keys"), std::string::npos) << out;
}

}  // namespace
}  // namespace epara
