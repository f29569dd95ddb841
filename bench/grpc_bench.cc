// grpc_bench: KServe v2 over gRPC (issue 25) vs the model's engine called directly, in one run, on
// the tensor model (tensor-demo: sum = a + b + c over [1, 4] rows; the model itself costs
// microseconds, so what is measured is the serving path).
//
//   direct   engine::InferSync on the served model in this process (its queue and batcher)
//   grpc     ModelInfer with raw_input_contents from C concurrent clients (a channel each)
//   http     POST /v2/models/tensor-demo/infer with the binary tensor data extension (reference)
//   http_thread_per_connection   the same on cpp-httplib's server (epara's plain-HTTP front end
//            before session 24's event-driven one): their throughput ratio is the new server's cost
//   https, https_thread_per_connection   the same two over TLS (a CA and certificate made in a
//            temporary folder; one keep-alive TLS connection per client): the event-driven server
//            serves HTTPS since session 27, cpp-httplib's did before
//
// Throughput at saturation (C clients / callers, closed loop, --seconds each) and latency of one
// caller (p50 over --requests) per side; the sides alternate in rounds (ABBA) and the report gives
// per-round ratios' medians:
//   build/bench/epara_grpc_bench --out bench/results/grpc_bench_s20.json
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>

#include "api/kserve_json.h"
#include "api/server.h"
#include "backend/libtorch/libtorch_backend.h"
#include "bench_util.h"
#include "engine/model_manager.h"
#include "kserve_grpc/grpc_predict_v2.grpc.pb.h"
#include "kserve_grpc/kserve_grpc_server.h"
#include "models/demo_tensor.h"
#include "security/certs.h"

using namespace epara;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<Tensor> DemoInputs() {
  Tensor a(DataType::kFp32, {1, 4}), b(DataType::kInt64, {1, 4}), c(DataType::kUInt8, {1, 4});
  for (int i = 0; i < 4; ++i) {
    a.data<float>()[i] = static_cast<float>(i + 1);
    b.data<int64_t>()[i] = 1;
    c.data<uint8_t>()[i] = i == 3 ? 2 : 0;
  }
  return {a, b, c};
}

inference::ModelInferRequest GrpcRequest() {
  inference::ModelInferRequest r;
  r.set_model_name("tensor-demo");
  const std::vector<Tensor> in = DemoInputs();
  const char* names[] = {"a", "b", "c"};
  for (size_t i = 0; i < in.size(); ++i) {
    auto* t = r.add_inputs();
    t->set_name(names[i]);
    t->set_datatype(std::string(DataTypeName(in[i].dtype())));
    t->add_shape(1);
    t->add_shape(4);
    r.add_raw_input_contents(reinterpret_cast<const char*>(in[i].raw()), in[i].byte_size());
  }
  return r;
}

// Calls per second with `callers` threads each running `call` until `seconds` pass; counts
// failures.
double Throughput(int callers, double seconds, const std::function<std::function<bool()>()>& make,
                  int64_t* failures) {
  std::atomic<int64_t> done{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int i = 0; i < callers; ++i)
    threads.emplace_back([&] {
      std::function<bool()> call = make();  // each caller its own channel / connection
      while (!stop.load()) (call() ? done : failed)++;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the measuring window
  stop = true;
  for (auto& t : threads) t.join();
  *failures += failed.load();
  return done.load() / bench::Seconds(Clock::now() - t0);
}

double P50Ms(int n, const std::function<bool()>& call) {
  for (int i = 0; i < 20; ++i) call();
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    call();
    ms.push_back(bench::Seconds(Clock::now() - t0) * 1e3);
  }
  return bench::Percentile(ms, 50);
}

}  // namespace

int main(int argc, char** argv) {
  int clients = 8, rounds = 4, requests = 2000;
  double seconds = 3;
  std::string out;
  CLI::App app{"KServe v2 gRPC: served vs direct on the tensor model"};
  app.add_option("--clients", clients, "Concurrent callers at saturation")->capture_default_str();
  app.add_option("--rounds", rounds, "Rounds (ABBA order)")->capture_default_str();
  app.add_option("--seconds", seconds, "Window per side per round")->capture_default_str();
  app.add_option("--requests", requests, "Requests for the one-caller latency")
      ->capture_default_str();
  app.add_option("--out", out, "Write the JSON result here");
  CLI11_PARSE(app, argc, argv);

  const fs::path repo =
      fs::temp_directory_path() / ("epara_grpc_bench_" + std::to_string(getpid()));
  models::DemoTensorOptions t;
  t.max_queue_delay_ms = 0;  // batches of whatever is queued
  if (!models::WriteDemoTensorModel(repo.string(), t).ok()) return 1;
  backend::BackendRegistry backends;
  (void)backends.Register(backend::CreateLibTorchBackend());
  api::ServerOptions so;
  so.models_dir = repo.string();
  so.http.port = 0;
  std::unique_ptr<api::Server> server;
  if (Status s = api::Server::Create(so, &backends, &server); !s.ok() || !server->Start().ok()) {
    std::fprintf(stderr, "server: %s\n", s.ToString().c_str());
    return 1;
  }
  // The same API on cpp-httplib's thread-per-connection server: the event-driven server's cost;
  // and both over TLS.
  const std::string tls = (repo / "tls").string();
  if (!security::CreateCa(tls, "grpc_bench CA").ok() ||
      !security::IssueCertificate(tls, "server", {"127.0.0.1"}, tls + "/server").ok())
    return 1;
  std::unique_ptr<api::Server> threaded_server, https_server, https_threaded_server;
  for (auto [out, threads, https] :
       {std::tuple{&threaded_server, true, false}, std::tuple{&https_server, false, true},
        std::tuple{&https_threaded_server, true, true}}) {
    api::ServerOptions o = so;
    o.http.thread_per_connection = threads;
    if (https) {
      o.http.tls_cert_file = tls + "/server.pem";
      o.http.tls_key_file = tls + "/server.key";
    }
    if (Status s = api::Server::Create(o, &backends, out); !s.ok() || !(*out)->Start().ok()) {
      std::fprintf(stderr, "server (https %d, thread per connection %d): %s\n", https, threads,
                   s.ToString().c_str());
      return 1;
    }
  }
  kserve_grpc::KServeGrpcHandlers h;
  h.dispatch = [&](api::HttpRequest req, api::HttpResponse* res) {
    server->Dispatch(std::move(req), res);
  };
  h.authorize = [&](const api::HttpRequest& req, api::HttpResponse* res) {
    return server->Authorize(req, res);
  };
  std::unique_ptr<kserve_grpc::KServeGrpcServer> grpc_server;
  if (!kserve_grpc::KServeGrpcServer::Start({}, std::move(h), &grpc_server).ok()) return 1;
  engine::ServedModel* model = server->models().FindServing("tensor-demo");
  if (!model) return 1;
  bench::LowerClientThreadPriority();

  const inference::ModelInferRequest grpc_request = GrpcRequest();
  size_t json_length = 0;
  std::vector<NamedTensor> named;
  for (const char* n : {"a", "b", "c"}) named.push_back({n, {}});
  {
    const std::vector<Tensor> in = DemoInputs();
    for (size_t i = 0; i < 3; ++i) named[i].tensor = in[i];
  }
  const std::string http_body = api::KServeBinaryRequest(named, true, &json_length);
  const int grpc_port = grpc_server->port(), http_port = server->port();

  auto direct = [&]() -> std::function<bool()> {
    return [&] {
      engine::InferenceResult r;
      return engine::InferSync(*model, DemoInputs(), 1, &r).ok();
    };
  };
  auto grpc_call = [&]() -> std::function<bool()> {
    auto stub = std::shared_ptr<inference::GRPCInferenceService::Stub>(
        inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
            "127.0.0.1:" + std::to_string(grpc_port), grpc::InsecureChannelCredentials())));
    return [stub, &grpc_request] {
      grpc::ClientContext ctx;
      inference::ModelInferResponse res;
      return stub->ModelInfer(&ctx, grpc_request, &res).ok() && res.raw_output_contents_size() == 2;
    };
  };
  auto http_at = [&](int port, bool https) -> std::function<bool()> {
    std::shared_ptr<httplib::ClientImpl> c;
    if (https) {
      auto ssl = std::make_shared<httplib::SSLClient>("127.0.0.1", port);
      ssl->set_ca_cert_path((tls + "/ca.pem").c_str());
      ssl->enable_server_certificate_verification(true);
      c = ssl;
    } else {
      c = std::make_shared<httplib::ClientImpl>("127.0.0.1", port);
    }
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    return [c, &http_body, json_length] {
      auto r = c->Post("/v2/models/tensor-demo/infer",
                       {{api::kInferenceHeaderLength, std::to_string(json_length)}}, http_body,
                       "application/octet-stream");
      return r && r->status == 200;
    };
  };
  auto http_call = [&] { return http_at(http_port, false); };
  auto http_threads_call = [&] { return http_at(threaded_server->port(), false); };
  auto https_call = [&] { return http_at(https_server->port(), true); };
  auto https_threads_call = [&] { return http_at(https_threaded_server->port(), true); };
  struct Side {
    const char* name;
    std::function<std::function<bool()>()> make;
    std::vector<double> tput, p50;
  } sides[] = {
      {"direct", direct, {}, {}},    {"grpc", grpc_call, {}, {}},
      {"http", http_call, {}, {}},   {"http_thread_per_connection", http_threads_call, {}, {}},
      {"https", https_call, {}, {}}, {"https_thread_per_connection", https_threads_call, {}, {}}};
  int64_t failures = 0;
  std::vector<double> tput_ratio, added_p50, event_over_threads, tls_event_over_threads;
  std::vector<double> tls_added_p50;
  for (int r = 0; r < rounds; ++r) {
    const int order[2][6] = {{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}};
    for (int k : order[r % 2]) {
      Side& s = sides[k];
      s.tput.push_back(Throughput(clients, seconds, s.make, &failures));
      s.p50.push_back(P50Ms(requests, s.make()));
    }
    tput_ratio.push_back(sides[1].tput.back() / sides[0].tput.back());
    added_p50.push_back(sides[1].p50.back() - sides[0].p50.back());
    event_over_threads.push_back(sides[2].tput.back() / sides[3].tput.back());
    tls_event_over_threads.push_back(sides[4].tput.back() / sides[5].tput.back());
    tls_added_p50.push_back(sides[4].p50.back() - sides[2].p50.back());
    std::printf(
        "round %d: direct %.0f/s p50 %.3f ms | grpc %.0f/s p50 %.3f ms | http %.0f/s p50 "
        "%.3f ms | http (thread per connection) %.0f/s p50 %.3f ms | https %.0f/s p50 %.3f ms | "
        "https (thread per connection) %.0f/s p50 %.3f ms\n",
        r, sides[0].tput.back(), sides[0].p50.back(), sides[1].tput.back(), sides[1].p50.back(),
        sides[2].tput.back(), sides[2].p50.back(), sides[3].tput.back(), sides[3].p50.back(),
        sides[4].tput.back(), sides[4].p50.back(), sides[5].tput.back(), sides[5].p50.back());
  }
  json result = {{"benchmark", "grpc_bench"},
                 {"model", "tensor-demo"},
                 {"clients", clients},
                 {"seconds", seconds},
                 {"cores", std::thread::hardware_concurrency()},
                 {"failures", failures},
                 {"grpc_over_direct_throughput_median", bench::Median(tput_ratio)},
                 {"grpc_added_p50_ms_median", bench::Median(added_p50)},
                 {"http_event_over_thread_per_connection_throughput_median",
                  bench::Median(event_over_threads)},
                 {"https_event_over_thread_per_connection_throughput_median",
                  bench::Median(tls_event_over_threads)},
                 {"https_added_p50_ms_over_http_median", bench::Median(tls_added_p50)}};
  for (const Side& s : sides) result[s.name] = {{"throughput_per_s", s.tput}, {"p50_ms", s.p50}};
  std::printf(
      "gRPC / direct throughput (median of rounds) %.3f, added p50 %.3f ms, failures %lld\n",
      bench::Median(tput_ratio), bench::Median(added_p50), static_cast<long long>(failures));
  if (!out.empty()) std::ofstream(out) << result.dump(2) << "\n";
  std::printf("HTTP event-driven / thread-per-connection throughput (median of rounds) %.3f\n",
              bench::Median(event_over_threads));
  std::printf(
      "HTTPS event-driven / thread-per-connection throughput (median of rounds) %.3f; HTTPS adds "
      "%.3f ms to the HTTP p50\n",
      bench::Median(tls_event_over_threads), bench::Median(tls_added_p50));
  grpc_server->Stop();
  https_threaded_server->Stop();
  https_server->Stop();
  threaded_server->Stop();
  server->Stop();
  std::error_code ec;
  fs::remove_all(repo, ec);
  return failures == 0 ? 0 : 1;
}
