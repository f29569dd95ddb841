// Multi-process cluster tests (issue 4): real `epara node` processes on loopback, joined through
// a real etcd started by the test (skipped when etcd is not installed).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "image/image_codec.h"
#include "image/synthetic_scene.h"
#include "server_process.h"
#include "testing/etcd_process.h"

#include <signal.h>
#include <fstream>

namespace epara {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::NodeProcess;

class ClusterE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (testing::FindEtcd().empty()) return;
    root_ = new fs::path(fs::temp_directory_path() / ("epara_cluster_" + std::to_string(getpid())));
    fs::create_directories(*root_ / "repo");
    std::string out;
    if (testing::RunEpara({"models", "demo", (*root_ / "repo").string()}, &out) != 0) {
      setup_error_ = "epara models demo failed: " + out;
      return;
    }
    // seg-variant: seg-demo's files as a variant of the service "seg-svc" (requests may name it).
    fs::create_directories(*root_ / "repo" / "seg-variant");
    fs::copy_file(*root_ / "repo" / "seg-demo" / "model.pt",
                  *root_ / "repo" / "seg-variant" / "model.pt");
    {
      std::ifstream in(*root_ / "repo" / "seg-demo" / "model.yaml");
      std::string yaml((std::istreambuf_iterator<char>(in)), {});
      const size_t at = yaml.find("name: seg-demo");
      if (at == std::string::npos) {
        setup_error_ = "seg-demo's descriptor has no name line";
        return;
      }
      yaml.replace(at, 14, "name: seg-variant");
      std::ofstream(*root_ / "repo" / "seg-variant" / "model.yaml")
          << yaml << "variant: {of: seg-svc, accuracy: 1, min_accuracy: 0.5}\n";
    }
    etcd_ = new testing::EtcdProcess();
    if (!etcd_->Start(&setup_error_)) return;
    Image scene = SyntheticScene(128, 128);
    if (!EncodePng(scene, &png_).ok()) setup_error_ = "cannot encode the test image";
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
    if (root_) fs::remove_all(*root_);
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    if (testing::FindEtcd().empty())
      GTEST_SKIP() << "etcd is not installed (scripts/setup.sh installs etcd-server)";
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }
  void TearDown() override {
    // Nodes still running leave cleanly (exit 0); killed ones were erased by their test.
    for (auto& [id, n] : nodes_)
      EXPECT_EQ(n->process().Stop(std::chrono::seconds(30)), 0) << id << ": " << n->Log();
  }

  // Starts node `id` serving `models` with `threads` CPU threads at `quota` of their speed.
  NodeProcess* Start(const std::string& id, const std::string& models, int threads,
                     double quota = 1.0, const std::string& zone = "") {
    const std::string yaml =
        "id: " + id + "\napi: {port: 0}\nmodels: {dir: " + (*root_ / "repo").string() +
        ", serve: [" + models +
        "]}\ndevices: [{kind: cpu, cpu_threads: " + std::to_string(threads) +
        ", cpu_quota: " + std::to_string(quota) +
        "}]\nstore: {kind: etcd, endpoint: \"127.0.0.1:" + std::to_string(etcd_->client_port()) +
        "\"}\n" + (zone.empty() ? "" : "sync_zone: " + zone + "\n");
    auto n = std::make_unique<NodeProcess>();
    std::string error;
    if (!n->Start(id, yaml, root_->string(), &error)) {
      ADD_FAILURE() << error;
      return nullptr;
    }
    return (nodes_[id] = std::move(n)).get();
  }

  static json Cluster(int port) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(5, 0);
    auto r = c.Get("/v1/cluster");
    if (!r || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }
  // Waits (bounded, 30 s) until node `port` lists exactly `ids` as peers, each with a digest.
  static bool WaitForPeers(int port, std::set<std::string> ids) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      json c = Cluster(port);
      std::set<std::string> seen;
      if (c.is_object())
        for (const auto& n : c["nodes"])
          if (!n["self"].get<bool>() && n.contains("digest")) seen.insert(n["id"]);
      if (seen == ids) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling state, bounded
    }
    return false;
  }
  static httplib::Result Segment(int port, const std::string& query = "") {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    return c.Post(("/v1/segment/seg-demo" + query).c_str(), png_, "image/png");
  }

  static inline fs::path* root_ = nullptr;
  static inline testing::EtcdProcess* etcd_ = nullptr;
  static inline std::string setup_error_;
  static inline std::string png_;
  std::map<std::string, std::unique_ptr<NodeProcess>> nodes_;
};

TEST_F(ClusterE2ETest, ARequestToANodeWithoutTheModelIsServedByTheNodeThatHasIt) {
  NodeProcess* a = Start("a", "tensor-demo", 1);
  NodeProcess* c = Start("c", "seg-demo", 1);
  ASSERT_TRUE(a && c);
  ASSERT_TRUE(WaitForPeers(a->api_port(), {"c"})) << Cluster(a->api_port()).dump();
  auto via_a = Segment(a->api_port());
  auto direct = Segment(c->api_port());
  ASSERT_TRUE(via_a && direct);
  ASSERT_EQ(via_a->status, 200) << via_a->body;
  EXPECT_EQ(via_a->get_header_value("X-Epara-Node"), "c");
  EXPECT_EQ(via_a->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(via_a->body, direct->body);  // the same mask, bit for bit
  auto summary = Segment(a->api_port(), "?format=json");
  ASSERT_TRUE(summary && summary->status == 200);
  EXPECT_EQ(json::parse(summary->body)["width"], 128);
  // A model nobody hosts is still a clear 404 from the node asked.
  httplib::Client client("127.0.0.1", a->api_port());
  auto missing = client.Post("/v1/segment/nope", png_, "image/png");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  // a's recent decisions explain the forward: seg-demo to c, with the numbers behind it.
  auto decisions = client.Get("/v1/decisions?model=seg-demo");
  ASSERT_TRUE(decisions && decisions->status == 200);
  const json log = json::parse(decisions->body);
  ASSERT_GE(log["decisions"].size(), 2u) << log.dump();
  for (const auto& d : log["decisions"]) {
    EXPECT_EQ(d["model"], "seg-demo");
    EXPECT_EQ(d["outcome"], "forward") << d.dump();
    EXPECT_EQ(d["chosen"], "c");
    ASSERT_EQ(d["candidates"].size(), 1u);
    EXPECT_EQ(d["candidates"][0]["node"], "c");
    EXPECT_GT(d["candidates"][0]["predicted_ms"].get<double>(), 0);
  }
  // Asked for, the answer carries the same explanation: forwarded from a, served locally at c.
  for (auto [port, outcome] :
       {std::pair{a->api_port(), "forward"}, std::pair{c->api_port(), "local"}}) {
    httplib::Client h("127.0.0.1", port);
    h.set_read_timeout(60, 0);
    auto r = h.Post("/v1/segment/seg-demo", {{"X-Epara-Explain", "1"}}, png_, "image/png");
    ASSERT_TRUE(r && r->status == 200);
    const json e = json::parse(r->get_header_value("X-Epara-Explain"), nullptr, false);
    ASSERT_TRUE(e.is_object()) << r->get_header_value("X-Epara-Explain");
    EXPECT_EQ(e["outcome"], outcome) << e.dump();
    EXPECT_EQ(e["chosen"], "c") << e.dump();
    EXPECT_EQ(e["routing"], "slo-aware");
  }
  // Not asked for: no such header.
  auto plain = client.Post("/v1/segment/seg-demo", png_, "image/png");
  ASSERT_TRUE(plain && plain->status == 200);
  EXPECT_FALSE(plain->has_header("X-Epara-Explain"));
  // The cluster view names both nodes, their devices and instances.
  json view = Cluster(a->api_port());
  ASSERT_EQ(view["nodes"].size(), 2u);
  for (const auto& n : view["nodes"]) {
    EXPECT_GT(n["devices"][0]["speed_gflops"].get<double>(), 0) << n.dump();
    EXPECT_EQ(n["instances"].size(), 1u);
  }
}

// Sync zones (issue 23): a node exchanges digests with, and forwards to, only the peers of its
// zone.
TEST_F(ClusterE2ETest, ANodeSyncsAndRoutesOnlyWithinItsZone) {
  NodeProcess* a = Start("a", "tensor-demo", 1, 1.0, "zone-0");
  NodeProcess* b = Start("b", "seg-demo", 1, 1.0, "zone-0");
  NodeProcess* c = Start("c", "seg-demo", 1, 1.0, "zone-1");
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(WaitForPeers(a->api_port(), {"b"})) << Cluster(a->api_port()).dump();
  for (int i = 0; i < 6; ++i) {
    auto r = Segment(a->api_port(), "?format=json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("X-Epara-Node"), "b");  // never c, in the other zone
  }
  for (const auto& n : Cluster(a->api_port())["nodes"]) EXPECT_NE(n["id"], "c") << n.dump();
  for (const auto& n : Cluster(c->api_port())["nodes"])
    EXPECT_TRUE(n["self"].get<bool>()) << "c sees " << n.dump();
}

// A request naming a service reaches a node holding one of its variants: node a holds none, c holds
// seg-variant (variant of seg-svc); the answer equals c's own for the same image.
TEST_F(ClusterE2ETest, ARequestNamingAServiceIsServedByANodeHoldingAVariant) {
  NodeProcess* a = Start("a", "tensor-demo", 1);
  NodeProcess* c = Start("c", "seg-variant", 1);
  ASSERT_TRUE(a && c);
  ASSERT_TRUE(WaitForPeers(a->api_port(), {"c"})) << Cluster(a->api_port()).dump();
  httplib::Client ca("127.0.0.1", a->api_port()), cc("127.0.0.1", c->api_port());
  ca.set_read_timeout(60, 0);
  cc.set_read_timeout(60, 0);
  auto via_a = ca.Post("/v1/segment/seg-svc", png_, "image/png");
  auto at_c = cc.Post("/v1/segment/seg-svc", png_, "image/png");
  auto by_variant = cc.Post("/v1/segment/seg-variant", png_, "image/png");
  ASSERT_TRUE(via_a && at_c && by_variant);
  ASSERT_EQ(via_a->status, 200) << via_a->body;
  ASSERT_EQ(at_c->status, 200) << at_c->body;
  EXPECT_EQ(via_a->get_header_value("X-Epara-Node"), "c");
  EXPECT_EQ(via_a->body, at_c->body);
  EXPECT_EQ(at_c->body, by_variant->body);
  // The service is listed among the models a's clients can use.
  auto models = ca.Get("/v1/models");
  ASSERT_TRUE(models && models->status == 200);
  EXPECT_NE(models->body.find("\"seg-svc\""), std::string::npos) << models->body;
}

TEST_F(ClusterE2ETest, TheFasterNodeServesTheLargerShare) {
  NodeProcess* in = Start("ingress", "tensor-demo", 1);
  // Equal threads; "slow" emulates a device with a third of the CPU (the testbed's quota).
  NodeProcess* fast = Start("fast", "seg-demo", 1);
  NodeProcess* slow = Start("slow", "seg-demo", 1, 0.34);
  ASSERT_TRUE(in && fast && slow);
  ASSERT_TRUE(WaitForPeers(in->api_port(), {"fast", "slow"}));
  std::mutex mu;
  std::map<std::string, int> served;
  int failed = 0;
  const auto until = Clock::now() + std::chrono::seconds(6);
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t)
    clients.emplace_back([&] {
      while (Clock::now() < until) {
        auto r = Segment(in->api_port());
        std::lock_guard<std::mutex> lock(mu);
        if (r && r->status == 200)
          served[r->get_header_value("X-Epara-Node")]++;
        else
          failed++;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed, 0);
  RecordProperty("served_fast", served["fast"]);
  RecordProperty("served_slow", served["slow"]);
  EXPECT_GT(served["fast"], served["slow"] * 1.2)
      << "fast " << served["fast"] << " slow " << served["slow"];
  EXPECT_GT(served["slow"], 0) << "the slow node also takes work under load";
}

TEST_F(ClusterE2ETest, AKilledNodeStopsGettingTrafficAndEveryRequestIsAnswered) {
  NodeProcess* in = Start("ingress", "tensor-demo", 1);
  NodeProcess* b = Start("b", "seg-demo", 1);
  NodeProcess* c = Start("c", "seg-demo", 1);
  ASSERT_TRUE(in && b && c);
  ASSERT_TRUE(WaitForPeers(in->api_port(), {"b", "c"})) << Cluster(in->api_port()).dump();
  struct Outcome {
    double at_s;  // sent, seconds after the kill (negative: before)
    int status;   // 0: no response
    std::string node, body;
  };
  std::mutex mu;
  std::vector<Outcome> outcomes;
  std::atomic<int> sent{0};
  std::atomic<bool> killed{false};
  Clock::time_point kill_at = Clock::now() + std::chrono::seconds(2);
  const auto until = kill_at + std::chrono::seconds(6);
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      while (Clock::now() < until) {
        const double at = std::chrono::duration<double>(Clock::now() - kill_at).count();
        sent++;
        auto r = Segment(in->api_port());
        std::lock_guard<std::mutex> lock(mu);
        outcomes.push_back({at, r ? r->status : 0, r ? r->get_header_value("X-Epara-Node") : "",
                            r ? r->body : ""});
      }
    });
  std::this_thread::sleep_until(kill_at);  // the schedule of the test, not synchronization
  c->process().Kill();
  killed = true;
  for (auto& t : clients) t.join();
  ASSERT_EQ(outcomes.size(), static_cast<size_t>(sent.load()));  // every request ended
  int before_c = 0, errors = 0;
  for (const Outcome& o : outcomes) {
    ASSERT_NE(o.status, 0) << "a request got no response";
    if (o.status != 200) {
      errors++;
      EXPECT_EQ(o.status, 503) << o.body;
      EXPECT_NE(o.body.find("\"message\""), std::string::npos) << o.body;  // a clear error
    }
    if (o.at_s < 0 && o.node == "c") before_c++;
    if (o.at_s > 3.0) {
      EXPECT_EQ(o.status, 200) << "at +" << o.at_s << " s: " << o.body;
      EXPECT_EQ(o.node, "b") << "at +" << o.at_s << " s";
    }
  }
  EXPECT_GT(before_c, 0) << "c took traffic before it was killed";
  EXPECT_LE(errors, 4) << "only requests running on c when it died may fail";
  nodes_.erase("c");
}

// A model whose only node died is a service without a live instance, not an unknown model: 503
// with the reason and Retry-After (clients retry), not 404.
TEST_F(ClusterE2ETest, AModelWhoseOnlyNodeDiedIsUnavailableNotUnknown) {
  NodeProcess* a = Start("a", "tensor-demo", 1);
  NodeProcess* b = Start("b", "seg-demo", 1);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitForPeers(a->api_port(), {"b"}));
  auto r = Segment(a->api_port());
  for (auto until = Clock::now() + std::chrono::seconds(30);
       !(r && r->status == 200) && Clock::now() < until;
       r = Segment(a->api_port()))  // until a routes it (b's digest), bounded
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(r && r->status == 200);
  b->process().Kill();
  ASSERT_TRUE(WaitForPeers(a->api_port(), {})) << Cluster(a->api_port()).dump();
  r = Segment(a->api_port());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_NE(r->body.find("no live node holds it (node b"), std::string::npos) << r->body;
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  const json departed = Cluster(a->api_port())["departed"];
  ASSERT_TRUE(departed.is_array() && departed.size() == 1) << departed.dump();
  EXPECT_EQ(departed[0]["id"], "b");
  EXPECT_EQ(departed[0]["models"], json::array({"seg-demo"})) << departed.dump();
  httplib::Client c("127.0.0.1", a->api_port());
  auto unknown = c.Post("/v1/segment/no-such-model", "x", "image/png");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404) << unknown->body;  // a model nobody ever held is still unknown
  nodes_.erase("b");
}

TEST_F(ClusterE2ETest, NodesJoinThroughEtcdAndAKilledNodesLeaseExpires) {
  NodeProcess* a = Start("a", "tensor-demo", 1);
  NodeProcess* b = Start("b", "tensor-demo", 1);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitForPeers(a->api_port(), {"b"}));
  ASSERT_TRUE(WaitForPeers(b->api_port(), {"a"}));
  b->process().Kill();
  const auto killed = Clock::now();
  ASSERT_TRUE(WaitForPeers(a->api_port(), {})) << Cluster(a->api_port()).dump();
  // down_after is 3 s; etcd checks lease expiry about twice a second.
  EXPECT_LT(Clock::now() - killed, std::chrono::milliseconds(4500));
  nodes_.erase("b");
}

}  // namespace
}  // namespace epara
