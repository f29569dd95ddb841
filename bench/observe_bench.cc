// What explaining costs (issue 26): served segmentation throughput and per-request latency of a
// node that keeps its explanation records (the routing-decision ring, GET /v1/decisions, and the
// live SLO window, GET /v1/slo) against the same node with `observe: false`. Two single-node
// clusters in this process serve the demo UNet (seg-demo) with the same threads; phases alternate
// between them (only one is loaded at a time) so host noise hits both alike:
//   1. throughput: --clients closed-loop clients for --phase-s seconds, --rounds rounds of
//      (observing, not observing) in alternating order; the ratio per round and their median;
//   2. latency: --pairs sequential requests to each, interleaved; p50 of each and of the
//      per-pair difference.
// Usage: build/bench/epara_observe_bench --out bench/results/observe_bench_s22.json
#include <httplib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "backend/libtorch/libtorch_backend.h"
#include "bench_node.h"
#include "bench_util.h"
#include "cluster/embedded_store.h"
#include "core/host_allocator.h"
#include "core/library_env.h"
#include "node/node_agent.h"

namespace {

using namespace epara;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::unique_ptr<node::NodeAgent> StartNode(const std::string& id, const std::string& repo,
                                           bool observe, int threads, cluster::ClusterStore* store,
                                           backend::BackendRegistry* backends) {
  node::NodeConfig c;
  c.id = id;
  c.api_port = 0;
  c.models_dir = repo;
  c.serve_models = {"seg-demo"};
  c.observe = observe;
  c.devices.push_back({"cpu", "cpu", threads, 0, 1.0});
  return bench::StartNodeOrExit(c, 16, backends, store);
}

// Requests/s that `clients` closed-loop clients get from the node at `port` in `seconds`.
double Throughput(int port, const std::string& png, int clients, double seconds, int* failures) {
  std::atomic<int> done{0}, failed{0};
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int k = 0; k < clients; ++k)
    threads.emplace_back([&] {
      bench::LowerClientThreadPriority();
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(60, 0);
      while (Clock::now() < until) {
        auto r = c.Post("/v1/segment/seg-demo", png, "image/png");
        if (r && r->status == 200)
          done++;
        else
          failed++;
      }
    });
  for (auto& t : threads) t.join();
  *failures += failed;
  return done / bench::Seconds(Clock::now() - t0);
}

}  // namespace

int main(int argc, char** argv) {
  epara::ApplyLibraryEnvironment(argv);
  if (!ConfigureHostAllocatorForInference()) std::fprintf(stderr, "mallopt refused a setting\n");
  int rounds = 6, clients = 4, pairs = 300, threads = 2, size = 256;
  double phase_s = 5;
  std::string out;
  CLI::App app{"epara observe bench: the explanation records' cost on served segmentation"};
  app.add_option("--rounds", rounds, "Throughput rounds (one phase each way)")
      ->capture_default_str();
  app.add_option("--phase-s", phase_s, "Seconds per throughput phase")->capture_default_str();
  app.add_option("--clients", clients, "Closed-loop clients per phase")->capture_default_str();
  app.add_option("--pairs", pairs, "Sequential request pairs for latency")->capture_default_str();
  app.add_option("--threads", threads, "Model threads per node")->capture_default_str();
  app.add_option("--size", size, "Image side (the model's input side)")->capture_default_str();
  app.add_option("--out", out, "Write the JSON result here");
  CLI11_PARSE(app, argc, argv);

  std::string png;
  const fs::path repo =
      bench::DemoSegmentationRepoOrExit("epara_observe_bench", size, &png, nullptr);
  backend::BackendRegistry backends;
  (void)backends.Register(backend::CreateLibTorchBackend());
  cluster::EmbeddedStore on_store, off_store;  // two one-node clusters
  auto on = StartNode("observing", repo.string(), true, threads, &on_store, &backends);
  auto off = StartNode("silent", repo.string(), false, threads, &off_store, &backends);
  const int on_port = on->api_port(), off_port = off->api_port();
  int failures = 0;
  // Warm-up: both nodes' first batches (allocator, thread pools).
  Throughput(on_port, png, clients, 1, &failures);
  Throughput(off_port, png, clients, 1, &failures);

  std::vector<double> on_rps, off_rps, ratios;
  for (int r = 0; r < rounds; ++r) {
    double a, b;
    if (r % 2 == 0) {
      a = Throughput(on_port, png, clients, phase_s, &failures);
      b = Throughput(off_port, png, clients, phase_s, &failures);
    } else {
      b = Throughput(off_port, png, clients, phase_s, &failures);
      a = Throughput(on_port, png, clients, phase_s, &failures);
    }
    on_rps.push_back(a);
    off_rps.push_back(b);
    ratios.push_back(a / b);
    std::printf("round %d: observing %.2f req/s, not observing %.2f req/s, ratio %.4f\n", r, a, b,
                a / b);
  }
  httplib::Client con("127.0.0.1", on_port), coff("127.0.0.1", off_port);
  con.set_read_timeout(60, 0);
  coff.set_read_timeout(60, 0);
  std::vector<double> on_ms, off_ms, diff_ms;
  auto once = [&](httplib::Client& c) {
    const auto t0 = Clock::now();
    auto r = c.Post("/v1/segment/seg-demo", png, "image/png");
    if (!r || r->status != 200) failures++;
    return bench::Seconds(Clock::now() - t0) * 1e3;
  };
  for (int k = 0; k < pairs; ++k) {
    double a, b;
    if (k % 2 == 0) {
      a = once(con);
      b = once(coff);
    } else {
      b = once(coff);
      a = once(con);
    }
    on_ms.push_back(a);
    off_ms.push_back(b);
    diff_ms.push_back(a - b);
  }
  // The observing node did keep its records (so the comparison measured them).
  const json slo = json::parse(con.Get("/v1/slo")->body, nullptr,
                               false);  // the node allows it: no security configured
  const uint64_t recorded = slo.is_object() && slo["models"].contains("seg-demo")
                                ? slo["models"]["seg-demo"]["requests"].get<uint64_t>()
                                : 0;
  json result = {{"benchmark", "observe_bench"},
                 {"cores", std::thread::hardware_concurrency()},
                 {"model", "seg-demo " + std::to_string(size) + "x" + std::to_string(size)},
                 {"threads_per_node", threads},
                 {"clients", clients},
                 {"phase_s", phase_s},
                 {"observing_rps", on_rps},
                 {"not_observing_rps", off_rps},
                 {"throughput_ratio_per_round", ratios},
                 {"throughput_ratio_median", bench::Median(ratios)},
                 {"latency_p50_ms",
                  {{"observing", bench::Median(on_ms)}, {"not_observing", bench::Median(off_ms)}}},
                 {"latency_p50_difference_us", bench::Median(diff_ms) * 1e3},
                 {"slo_window_requests_recorded", recorded},
                 {"failures", failures}};
  std::printf("%s\n", result.dump(1).c_str());
  if (!out.empty()) std::ofstream(out) << result.dump(1) << "\n";
  on->Stop();
  off->Stop();
  fs::remove_all(repo);
  return failures == 0 ? 0 : 1;
}
