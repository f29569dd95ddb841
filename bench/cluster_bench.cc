// Cluster data-plane benchmark (issue 4):
//   1. the added latency of one forward hop on loopback: the same tiny model (tensor-demo copies)
//      served by the node asked vs by a peer, requests interleaved in one run; twice side by side
//      (issue 25): a plaintext pair of nodes and a secured pair (cluster credential on every call,
//      mutual TLS on the peer port), all four request kinds interleaved;
//   2. intra-request spatial split: one large image (the demo UNet at --split-size) served whole
//      by one node vs split into N tiles on N equal nodes (1 thread each at --split-quota of a
//      core, so that 4 nodes fit a 2-core host; or one node per share of --split-quotas: the tiles
//      are then sized by each node's speed, router/split_plan.h), for every N of --split-nodes,
//      requests interleaved;
//   3. load-digest sync traffic per node per second at several cluster sizes, measured as the
//      loopback interface's byte counters (IP packets, so TCP/IP, HTTP/2 and gRPC framing
//      included). Run it in a private network namespace so nothing else counts:
//        unshare -rn build/bench/epara_cluster_bench --out bench/results/cluster_bench.json
//      (the benchmark brings `lo` up there; outside one it warns that other traffic counts).
// Nodes are NodeAgents in this process sharing one EmbeddedStore (no store traffic on lo).
#include <httplib.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "backend/libtorch/libtorch_backend.h"
#include "bench_node.h"
#include "bench_util.h"
#include "cluster/embedded_store.h"
#include "core/host_allocator.h"
#include "core/library_env.h"
#include "image/image_codec.h"
#include "image/synthetic_scene.h"
#include "models/demo_segmentation.h"
#include "models/demo_tensor.h"
#include "node/node_agent.h"
#include "security/certs.h"
#include "security/secrets.h"

namespace {

using namespace epara;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// Brings `lo` up if it is down (a fresh network namespace); returns whether it was down.
bool EnsureLoopbackUp() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
  bool was_down = false;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
    was_down = true;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) std::perror("bringing lo up");
  }
  close(fd);
  return was_down;
}

// Bytes transmitted on lo so far (/proc/net/dev).
uint64_t LoopbackTxBytes() {
  std::ifstream in("/proc/net/dev");
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name != "lo") continue;
    std::istringstream fields(line.substr(colon + 1));
    uint64_t v[9] = {};
    for (auto& x : v) fields >> x;
    return v[8];  // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes
  }
  return 0;
}

// Where a secured node's credential and certificates come from (security/certs.h).
struct Secure {
  std::string token_file, tls_dir;
};

std::unique_ptr<node::NodeAgent> StartNode(const std::string& id, const std::string& repo,
                                           const std::vector<std::string>& models,
                                           cluster::ClusterStore* store,
                                           backend::BackendRegistry* backends,
                                           double cpu_quota = 1.0, const std::string& zone = "",
                                           const Secure* secure = nullptr) {
  node::NodeConfig c;
  c.id = id;
  if (secure) {
    const std::string prefix = secure->tls_dir + "/" + id;
    if (Status s = security::IssueCertificate(secure->tls_dir, id, {}, prefix); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      std::exit(1);
    }
    c.cluster_token_file = secure->token_file;
    c.tls_ca = secure->tls_dir + "/ca.pem";
    c.tls_cert = prefix + ".pem";
    c.tls_key = prefix + ".key";
  }
  c.sync_zone = zone;
  c.api_port = 0;
  c.models_dir = repo;
  c.serve_models = models;
  c.devices.push_back({"cpu", "cpu", 1, 0, cpu_quota});
  return bench::StartNodeOrExit(c, 8, backends, store);
}

// Waits until every node's /v1/cluster shows a digest from each of the others.
// Every node has a digest from `peers` others (default: all of them).
bool WaitConverged(const std::vector<std::unique_ptr<node::NodeAgent>>& nodes, size_t peers = 0) {
  if (peers == 0) peers = nodes.size() - 1;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    bool all = true;
    for (const auto& n : nodes) {
      json v = json::parse(n->ClusterJson());
      size_t with_digest = 0;
      for (const auto& x : v["nodes"])
        if (x.contains("digest")) with_digest++;
      if (with_digest < peers) all = false;
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string InferBody() {
  return R"({"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},)"
         R"({"name":"b","shape":[1,4],"datatype":"INT64","data":[1,1,1,1]},)"
         R"({"name":"c","shape":[1,4],"datatype":"UINT8","data":[0,0,0,2]}]})";
}

}  // namespace

int main(int argc, char** argv) {
  epara::ApplyLibraryEnvironment(argv);
  // As epara serve does: without it every large activation is a fresh mmap (page faults).
  if (!ConfigureHostAllocatorForInference()) std::fprintf(stderr, "mallopt refused a setting\n");
  int hop_requests = 2000;
  int split_requests = 10;
  int split_size = 1024;
  std::vector<int> split_nodes = {2};
  double split_quota = 1.0;
  std::vector<double> split_quotas;
  double sync_seconds = 10;
  std::vector<int> sizes = {4, 16};
  std::string out;
  CLI::App app("epara cluster benchmark: forward-hop latency and sync traffic");
  app.add_option("--hop-requests", hop_requests, "Request pairs for the hop latency")
      ->capture_default_str();
  app.add_option("--sync-seconds", sync_seconds, "Measurement window per cluster size")
      ->capture_default_str();
  app.add_option("--nodes", sizes, "Cluster sizes for the sync traffic")->capture_default_str();
  int zone_size = 0;
  app.add_option("--sync-zone-size", zone_size,
                 "Sync zones of this many nodes (node_config.h sync_zone); 0: all-to-all");
  app.add_option("--split-requests", split_requests,
                 "Request pairs for the spatial split (0: skip)")
      ->capture_default_str();
  app.add_option("--split-size", split_size, "Model input size for the spatial split")
      ->capture_default_str();
  app.add_option("--split-nodes", split_nodes, "Node counts (= tiles) for the spatial split")
      ->capture_default_str();
  app.add_option("--split-quotas", split_quotas,
                 "Heterogeneous split nodes: one node per CPU share (the first is asked and runs "
                 "the whole image); replaces --split-nodes and --split-quota");
  app.add_option("--split-quota", split_quota,
                 "CPU share of each split node's one thread (0.5: an embedded-class node)")
      ->capture_default_str();
  app.add_option("--out", out, "Write the JSON result here");
  CLI11_PARSE(app, argc, argv);

  const bool private_netns = EnsureLoopbackUp();
  if (!private_netns)
    std::fprintf(stderr,
                 "warning: lo was already up (not a private network namespace?): other loopback "
                 "traffic counts as sync traffic; run under `unshare -rn`\n");
  const fs::path repo =
      fs::temp_directory_path() / ("epara_cluster_bench_" + std::to_string(getpid()));
  for (const char* name : {"tensor-demo", "model-a", "model-b"}) {
    models::DemoTensorOptions t;
    t.name = name;
    t.max_queue_delay_ms = 0;  // batches of whatever is queued, no waiting
    if (Status s = models::WriteDemoTensorModel(repo.string(), t); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  models::DemoSegmentationOptions hd;
  hd.name = "seg-hd";
  hd.size = split_size;
  hd.max_batch_size = 1;
  hd.max_queue_delay_ms = 0;
  hd.slo_latency_ms = 0;
  if (Status s = models::WriteDemoSegmentationModel(repo.string(), hd); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  backend::BackendRegistry backends;
  (void)backends.Register(backend::CreateLibTorchBackend());
  json result = {{"benchmark", "cluster_bench"},
                 {"private_network_namespace", private_netns},
                 {"cores", std::thread::hardware_concurrency()}};

  // 1. Forward hop: model-a lives on node a, model-b (the same network) on node b; every request
  // goes to a. The secured pair (c, d) is the same with a cluster credential and mutual TLS.
  if (hop_requests > 0) {
    const std::string sec_dir = (repo / "secure").string();
    Secure secure{sec_dir + "/cluster.token", sec_dir + "/tls"};
    std::string token;
    if (Status s = security::RandomToken("epc-", 32, &token);
        !s.ok() || !(s = security::CreateCa(secure.tls_dir, "bench CA")).ok() ||
        !(s = security::WriteSecretFile(secure.token_file, token)).ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    cluster::EmbeddedStore store, secure_store;
    std::vector<std::unique_ptr<node::NodeAgent>> plain, secured;
    plain.push_back(StartNode("a", repo.string(), {"model-a"}, &store, &backends));
    plain.push_back(StartNode("b", repo.string(), {"model-b"}, &store, &backends));
    secured.push_back(
        StartNode("c", repo.string(), {"model-a"}, &secure_store, &backends, 1.0, "", &secure));
    secured.push_back(
        StartNode("d", repo.string(), {"model-b"}, &secure_store, &backends, 1.0, "", &secure));
    if (!WaitConverged(plain) || !WaitConverged(secured)) return 1;
    bench::LowerClientThreadPriority();
    const std::string body = InferBody();
    struct Pair {
      std::unique_ptr<httplib::Client> client;
      std::vector<double> local_ms, remote_ms, diff_ms;
      int failures = 0;
      double Once(const char* model, const std::string& body) {
        const auto t0 = Clock::now();
        auto r = client->Post((std::string("/v2/models/") + model + "/infer").c_str(), body,
                              "application/json");
        if (!r || r->status != 200) failures++;
        return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      }
      void Measure(bool remote_first, const std::string& body) {
        double l, r;
        if (remote_first) {
          r = Once("model-b", body);
          l = Once("model-a", body);
        } else {
          l = Once("model-a", body);
          r = Once("model-b", body);
        }
        local_ms.push_back(l);
        remote_ms.push_back(r);
        diff_ms.push_back(r - l);
      }
      json Json(int n) const {
        using bench::Percentile;
        return {
            {"requests_each", n},
            {"failures", failures},
            {"local_ms", {{"p50", Percentile(local_ms, 50)}, {"p99", Percentile(local_ms, 99)}}},
            {"forwarded_ms",
             {{"p50", Percentile(remote_ms, 50)}, {"p99", Percentile(remote_ms, 99)}}},
            {"added_ms_paired",
             {{"p50", Percentile(diff_ms, 50)}, {"p99", Percentile(diff_ms, 99)}}}};
      }
    } p, s;
    for (auto [pair, node] : {std::pair{&p, plain[0].get()}, std::pair{&s, secured[0].get()}}) {
      pair->client = std::make_unique<httplib::Client>("127.0.0.1", node->api_port());
      pair->client->set_keep_alive(true);
      pair->client->set_tcp_nodelay(true);
    }
    for (int i = 0; i < 100; ++i) p.Measure(false, body), s.Measure(false, body);  // warm-up
    for (Pair* x : {&p, &s}) {
      x->local_ms.clear();
      x->remote_ms.clear();
      x->diff_ms.clear();
      x->failures = 0;
    }
    for (int i = 0; i < hop_requests; ++i) {
      // Rotate the order so no kind always runs right after another.
      if (i % 2 == 0) {
        p.Measure(i % 4 == 0, body);
        s.Measure(i % 4 == 0, body);
      } else {
        s.Measure(i % 4 == 1, body);
        p.Measure(i % 4 == 1, body);
      }
    }
    using bench::Percentile;
    result["forward_hop"] = p.Json(hop_requests);
    result["forward_hop_secure"] = s.Json(hop_requests);
    result["forward_hop_secure"]["security"] =
        "cluster credential + mutual TLS (P-256) on the peer port";
    std::fprintf(stderr, "hop: local p50 %.3f ms, forwarded p50 %.3f ms, added p50 %.3f p99 %.3f\n",
                 Percentile(p.local_ms, 50), Percentile(p.remote_ms, 50), Percentile(p.diff_ms, 50),
                 Percentile(p.diff_ms, 99));
    std::fprintf(stderr,
                 "secured hop: local p50 %.3f ms, forwarded p50 %.3f ms, added p50 %.3f p99 %.3f\n",
                 Percentile(s.local_ms, 50), Percentile(s.remote_ms, 50), Percentile(s.diff_ms, 50),
                 Percentile(s.diff_ms, 99));
    for (auto& n : plain) n->Stop();
    for (auto& n : secured) n->Stop();
  }

  // 2. Spatial split: N equal nodes host seg-hd (one intra-op thread each); node a is asked.
  json splits = json::array();
  if (!split_quotas.empty()) split_nodes = {static_cast<int>(split_quotas.size())};
  for (int n_nodes : split_requests > 0 ? split_nodes : std::vector<int>{}) {
    cluster::EmbeddedStore store;
    std::vector<std::unique_ptr<node::NodeAgent>> nodes;
    std::vector<double> quotas(static_cast<size_t>(n_nodes), split_quota);
    if (!split_quotas.empty()) quotas = split_quotas;
    for (int k = 0; k < n_nodes; ++k)
      nodes.push_back(StartNode(std::string(1, static_cast<char>('a' + k)), repo.string(),
                                {"seg-hd"}, &store, &backends, quotas[static_cast<size_t>(k)]));
    if (!WaitConverged(nodes)) return 1;
    std::string png;
    if (!EncodePng(SyntheticScene(split_size, split_size), &png).ok()) return 1;
    httplib::Client client("127.0.0.1", nodes[0]->api_port());
    client.set_read_timeout(300, 0);
    std::vector<double> whole_ms, split_ms;
    int failures = 0;
    auto once = [&](const std::string& query) {
      const auto t0 = Clock::now();
      auto r = client.Post(("/v1/segment/seg-hd" + query).c_str(), png, "image/png");
      if (!r || r->status != 200) failures++;
      return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    };
    const std::string split_query = "?split=" + std::to_string(n_nodes);
    once("");
    once(split_query);  // warm-up: every node has run its tile shape
    once(split_query);
    for (int i = 0; i < split_requests; ++i) {
      if (i % 2 == 0) {
        whole_ms.push_back(once(""));
        split_ms.push_back(once(split_query));
      } else {
        split_ms.push_back(once(split_query));
        whole_ms.push_back(once(""));
      }
    }
    using bench::Percentile;
    const double w50 = Percentile(whole_ms, 50), s50 = Percentile(split_ms, 50);
    splits.push_back({{"image", split_size},
                      {"nodes", n_nodes},
                      {"tiles", n_nodes},
                      {"node_cpu_quota", split_quota},
                      {"node_cpu_quotas", quotas},
                      {"halo", 128},
                      {"requests_each", split_requests},
                      {"failures", failures},
                      {"whole_one_node_ms", {{"p50", w50}, {"p99", Percentile(whole_ms, 99)}}},
                      {"split_ms", {{"p50", s50}, {"p99", Percentile(split_ms, 99)}}},
                      {"speedup_p50", w50 / s50}});
    std::fprintf(stderr,
                 "split %d^2: whole p50 %.0f ms, %d tiles on %d nodes p50 %.0f ms (x%.2f)\n",
                 split_size, w50, n_nodes, n_nodes, s50, w50 / s50);
    for (auto& n : nodes) n->Stop();
  }
  if (!splits.empty()) result["spatial_split"] = splits;

  // 3. Sync traffic at each cluster size, idle apart from the digests (every node hosts one model).
  json sync = json::array();
  for (int n : sizes) {
    cluster::EmbeddedStore store;
    std::vector<std::unique_ptr<node::NodeAgent>> nodes;
    for (int i = 0; i < n; ++i)
      nodes.push_back(StartNode("n" + std::to_string(i), repo.string(), {"tensor-demo"}, &store,
                                &backends, 1.0,
                                zone_size > 0 ? "zone-" + std::to_string(i / zone_size) : ""));
    // With zones every node converges on the others of its zone (at least the smallest zone's).
    const int smallest =
        zone_size <= 0 ? n : (n % zone_size == 0 ? std::min(zone_size, n) : n % zone_size);
    if (!WaitConverged(nodes, static_cast<size_t>(std::max(1, smallest - 1)))) {
      std::fprintf(stderr, "%d nodes did not converge\n", n);
      return 1;
    }
    uint64_t sent0 = 0, recv0 = 0;
    for (const auto& x : nodes) sent0 += x->digests_sent(), recv0 += x->digests_received();
    const uint64_t tx0 = LoopbackTxBytes();
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(sync_seconds));
    const uint64_t tx1 = LoopbackTxBytes();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    uint64_t sent1 = 0, recv1 = 0;
    for (const auto& x : nodes) sent1 += x->digests_sent(), recv1 += x->digests_received();
    const double per_node = (tx1 - tx0) / secs / n;
    const double digests_per_node = (sent1 - sent0) / secs / n;
    sync.push_back({{"nodes", n},
                    {"sync_zone_size", zone_size},
                    {"seconds", secs},
                    {"bytes_per_node_per_s", per_node},
                    {"digests_sent_per_node_per_s", digests_per_node},
                    {"digests_kept_per_node_per_s", (recv1 - recv0) / secs / n},
                    {"bytes_per_digest", (tx1 - tx0) / std::max<double>(1, sent1 - sent0)}});
    std::fprintf(stderr, "sync %d nodes: %.0f B/s per node (%.1f KB/s), %.1f digests/s per node\n",
                 n, per_node, per_node / 1e3, digests_per_node);
    for (auto& x : nodes) x->Stop();
  }
  result["sync_traffic"] = sync;
  fs::remove_all(repo);
  std::printf("%s\n", result.dump(2).c_str());
  if (!out.empty()) std::ofstream(out) << result.dump(2) << "\n";
  return 0;
}
