// Overload (issue 27): what a node does with 10x the load it can serve, and how fast it is back.
// One node in this process serves the demo UNet (seg-demo, SLO 500 ms). Its capacity C is measured
// closed-loop; then open-loop arrivals (Poisson) at --factor x C for --overload-s seconds, then at
// 0.5 x C for --after-s seconds. Run twice, each with a fresh node: admission reject-early (the
// epara policy's: a request no instance is predicted to serve within its SLO is answered 503 with
// Retry-After at once), once per --adaptive-shares value (the share adapts below that ceiling:
// router/admission_share.h, the default) and once per --shares value (fixed:
// NodeConfig::admission_slo_share, admit what is predicted within that share of the SLO), and
// best-effort (the node default: everything queues).
// Per run: requests sent, answered 200, within the SLO, refused (429/503) and how many of those
// carried Retry-After, failed otherwise, lost (no answer before the client's 30 s deadline);
// goodput of admitted work during the overload as a share of C; the process RSS before and at
// its peak; recovery: the time from the end of the overload to the first 1 s window in which 90%
// of the requests sent met the SLO.
// Usage: build/bench/epara_overload_bench --out bench/results/overload_s23.json
#include <httplib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "backend/libtorch/libtorch_backend.h"
#include "bench_node.h"
#include "bench_util.h"
#include "cluster/embedded_store.h"
#include "core/host_allocator.h"
#include "core/library_env.h"
#include "models/demo_segmentation.h"
#include "node/node_agent.h"

namespace {

using namespace epara;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double RssMb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

struct Outcome {
  double at_s = 0;  // scheduled send time from the run's start
  double ms = 0;    // from the scheduled time to the answer
  int status = 0;   // 0: no answer (connection failed or the client's deadline passed)
  bool retry_after = false;
};

// Closed-loop requests/s with `clients` clients for `seconds`.
double Capacity(int port, const std::string& png, int clients, double seconds) {
  std::atomic<int> done{0};
  const auto t0 = Clock::now();
  const auto until = t0 + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int k = 0; k < clients; ++k)
    threads.emplace_back([&] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(60, 0);
      while (Clock::now() < until) {
        auto r = c.Post("/v1/segment/seg-demo", png, "image/png");
        if (r && r->status == 200) done++;
      }
    });
  for (auto& t : threads) t.join();
  return done / bench::Seconds(Clock::now() - t0);
}

// Open loop: Poisson arrivals at `rate_of(t)`, each sent by one of `workers` threads at its time
// (a worker that is late sends at once; the lateness counts in the answer time).
std::vector<Outcome> OpenLoop(int port, const std::string& png, double seconds, int workers,
                              const std::function<double(double)>& rate_of, uint64_t seed,
                              double* peak_rss) {
  std::vector<double> times;
  std::mt19937_64 rng(seed);
  for (double t = 0; t < seconds;) {
    t += std::exponential_distribution<double>(rate_of(t))(rng);
    if (t < seconds) times.push_back(t);
  }
  std::vector<Outcome> out(times.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> running{true};
  const auto t0 = Clock::now();
  std::thread monitor([&] {
    while (running) {
      *peak_rss = std::max(*peak_rss, RssMb());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // sampling period
    }
  });
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w)
    pool.emplace_back([&] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(30, 0);
      c.set_connection_timeout(5, 0);
      for (size_t k; (k = next++) < times.size();) {
        const auto when = t0 + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(times[k]));
        std::this_thread::sleep_until(when);  // pacing: the request's scheduled time
        auto r = c.Post("/v1/segment/seg-demo", png, "image/png");
        Outcome& o = out[k];
        o.at_s = times[k];
        o.ms = bench::Seconds(Clock::now() - when) * 1e3;
        o.status = r ? r->status : 0;
        o.retry_after = r && r->has_header("Retry-After");
      }
    });
  for (auto& t : pool) t.join();
  running = false;
  monitor.join();
  return out;
}

json Run(const std::string& repo, const std::string& png, router::Admission admission, double share,
         bool adaptive, int threads, double factor, double overload_s, double after_s, int workers,
         double slo_ms, backend::BackendRegistry* backends) {
  cluster::EmbeddedStore store;
  node::NodeConfig c;
  c.id = admission == router::Admission::kRejectEarly ? "reject-early" : "best-effort";
  c.api_port = 0;
  c.models_dir = repo;
  c.serve_models = {"seg-demo"};
  c.admission = admission;
  c.admission_slo_share = share;
  c.admission_adaptive = adaptive;
  c.devices.push_back({"cpu", "cpu", threads, 0, 1.0});
  auto node = bench::StartNodeOrExit(c, 64, backends, &store);
  const int port = node->api_port();
  (void)Capacity(port, png, 4, 1);  // warm-up
  const double capacity = Capacity(port, png, 4, 5);
  const double rss_before = RssMb();
  double peak = rss_before;
  const std::vector<Outcome> out = OpenLoop(
      port, png, overload_s + after_s, workers,
      [&](double t) { return t < overload_s ? factor * capacity : 0.5 * capacity; },
      /*seed=*/7, &peak);
  node->Stop();

  uint64_t sent = 0, ok = 0, met = 0, refused = 0, with_retry = 0, failed = 0, lost = 0;
  uint64_t overload_met = 0;
  std::vector<double> ok_ms;
  std::map<int, std::pair<int, int>> by_second;  // after the overload: second -> (sent, met)
  for (const Outcome& o : out) {
    ++sent;
    const bool good = o.status == 200 && o.ms <= slo_ms;
    if (o.status == 200) {
      ++ok;
      ok_ms.push_back(o.ms);
    } else if (o.status == 429 || o.status == 503) {
      ++refused;
      with_retry += o.retry_after;
    } else if (o.status == 0) {
      ++lost;
    } else {
      ++failed;
    }
    met += good;
    if (o.at_s < overload_s) overload_met += good;
    if (o.at_s >= overload_s) {
      auto& [n, m] = by_second[static_cast<int>(o.at_s - overload_s)];
      ++n;
      m += good;
    }
  }
  double recovery_s = -1;  // never, within the run
  for (const auto& [second, nm] : by_second)
    if (nm.first > 0 && nm.second >= 0.9 * nm.first) {
      recovery_s = second;
      break;
    }
  json r = {{"admission", c.id},
            {"admission_slo_share", share},
            {"admission_adaptive", adaptive && admission == router::Admission::kRejectEarly},
            {"capacity_rps", capacity},
            {"offered_rps_overload", factor * capacity},
            {"sent", sent},
            {"answered_200", ok},
            {"met_slo", met},
            {"refused_429_503", refused},
            {"refused_with_retry_after", with_retry},
            {"failed_other", failed},
            {"lost_no_answer", lost},
            {"admitted_goodput_rps_overload", overload_met / overload_s},
            {"admitted_goodput_share_of_capacity", overload_met / overload_s / capacity},
            {"p50_ms_of_200", ok_ms.empty() ? 0 : bench::Median(ok_ms)},
            {"p99_ms_of_200", ok_ms.empty() ? 0 : bench::Percentile(ok_ms, 99)},
            {"rss_mb_before", rss_before},
            {"rss_mb_peak", peak},
            {"recovery_s", recovery_s}};
  std::printf("%s\n", r.dump(1).c_str());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  epara::ApplyLibraryEnvironment(argv);
  if (!ConfigureHostAllocatorForInference()) std::fprintf(stderr, "mallopt refused a setting\n");
  int threads = 1, workers = 256, size = 128;
  std::vector<double> shares = {1.0, 0.8}, adaptive_shares = {1.0};
  double factor = 10, overload_s = 30, after_s = 15;
  std::string out;
  CLI::App app{"epara overload bench: 10x the capacity, then half of it"};
  app.add_option("--threads", threads, "Model threads of the node")->capture_default_str();
  app.add_option("--factor", factor, "Overload as a multiple of the capacity")
      ->capture_default_str();
  app.add_option("--overload-s", overload_s, "Seconds of overload")->capture_default_str();
  app.add_option("--after-s", after_s, "Seconds at half the capacity after it")
      ->capture_default_str();
  app.add_option("--workers", workers, "Client threads sending the open loop")
      ->capture_default_str();
  app.add_option("--size", size, "Image side")->capture_default_str();
  app.add_option("--shares", shares, "Reject-early runs, one per fixed admission SLO share")
      ->capture_default_str();
  app.add_option("--adaptive-shares", adaptive_shares,
                 "Reject-early runs, one per adaptive share's ceiling (router/admission_share.h)")
      ->capture_default_str();
  bool best_effort = true;
  app.add_option("--best-effort", best_effort,
                 "Run the best-effort row too (it queues everything: minutes of draining)")
      ->capture_default_str();
  app.add_option("--out", out, "Write the JSON result here");
  CLI11_PARSE(app, argc, argv);

  std::string png;
  models::DemoSegmentationOptions seg;
  const fs::path repo = bench::DemoSegmentationRepoOrExit("epara_overload_bench", size, &png, &seg);
  backend::BackendRegistry backends;
  (void)backends.Register(backend::CreateLibTorchBackend());
  json runs = json::array();
  for (double share : adaptive_shares)
    runs.push_back(Run(repo.string(), png, router::Admission::kRejectEarly, share, true, threads,
                       factor, overload_s, after_s, workers, seg.slo_latency_ms, &backends));
  for (double share : shares)
    runs.push_back(Run(repo.string(), png, router::Admission::kRejectEarly, share, false, threads,
                       factor, overload_s, after_s, workers, seg.slo_latency_ms, &backends));
  if (best_effort)
    runs.push_back(Run(repo.string(), png, router::Admission::kBestEffort, 1.0, false, threads,
                       factor, overload_s, after_s, workers, seg.slo_latency_ms, &backends));
  json result = {{"benchmark", "overload_bench"},
                 {"cores", std::thread::hardware_concurrency()},
                 {"model", "seg-demo " + std::to_string(size) + "x" + std::to_string(size)},
                 {"slo_ms", seg.slo_latency_ms},
                 {"factor", factor},
                 {"overload_s", overload_s},
                 {"after_s", after_s},
                 {"runs", runs}};
  if (!out.empty()) std::ofstream(out) << result.dump(1) << "\n";
  fs::remove_all(repo);
  return 0;
}
