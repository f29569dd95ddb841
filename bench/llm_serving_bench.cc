// llm_serving_bench: LLM generation streamed through `epara serve`'s OpenAI API vs the same engine
// called directly, under continuous load, in one run.
//
//   direct  LlmEngine::Submit on the server's own engine object: C closed-loop clients, each
//           submitting K requests one after another (prompt P tokens, T generated, ignore_eos)
//   served  POST /v1/completions with "stream": true from C keep-alive HTTP clients on loopback
//           (at nice 10: they stand in for remote machines), the same requests; every SSE event
//           is parsed, usage comes from the final event
//
// Both sides generate exactly the same number of tokens (ignore_eos, max_tokens T), so the ratio
// of wall times is the ratio of time per token. Rounds alternate the order (ABBA) so the shared
// machine's drift hits both; the ratio is reported per round, as the median, and pooled.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/server.h"
#include "backend/libtorch/libtorch_backend.h"
#include "bench_util.h"
#include "core/host_allocator.h"
#include "core/library_env.h"
#include "llm/engine_factory.h"
#include "models/demo_llm.h"

using namespace epara;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

using bench::Median;
using bench::Seconds;

struct Load {
  int clients = 8;
  int requests_per_client = 3;
  int max_tokens = 128;
  std::string prompt;
  bool idle_clients = false;
};

struct Window {
  double seconds = 0;
  int64_t tokens = 0;
  int64_t failures = 0;
};

// Runs `client(i)` on `n` threads and returns the wall time until all have finished.
template <typename F>
double RunClients(int n, F&& client) {
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back([&, i] { client(i); });
  for (auto& t : threads) t.join();
  return Seconds(Clock::now() - t0);
}

Window Direct(llm::LlmEngine& engine, const Load& load) {
  const std::vector<int32_t> prompt = llm::PromptIds(engine.tokenizer(), load.prompt);
  std::atomic<int64_t> tokens{0}, failures{0};
  Window w;
  w.seconds = RunClients(load.clients, [&](int) {
    for (int k = 0; k < load.requests_per_client; ++k) {
      std::mutex mu;
      std::condition_variable cv;
      bool done = false;
      llm::GenerationRequest r;
      r.prompt = prompt;
      r.max_tokens = load.max_tokens;
      r.ignore_eos = true;
      r.sampling.temperature = 0;
      size_t bytes = 0;  // the text arrives piece by piece, as the server's stream sees it
      r.on_delta = [&bytes](const std::string& d, auto) {
        bytes += d.size();
        return true;
      };
      const Status s = engine.Submit(std::move(r), [&](llm::GenerationResult res) {
        if (res.status.ok())
          tokens += res.completion_tokens;
        else
          failures++;
        std::lock_guard<std::mutex> lock(mu);
        done = true;
        cv.notify_one();
      });
      if (!s.ok()) {
        failures++;
        continue;
      }
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done; });
    }
  });
  w.tokens = tokens.load();
  w.failures = failures.load();
  return w;
}

// Completion tokens from a streamed response, read from its usage event; -1 when the stream is
// malformed (no [DONE], no usage, or a finish_reason other than "length").
int64_t StreamedTokens(const std::string& body) {
  int64_t tokens = -1;
  bool finished = false, done = false;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) return -1;
    const std::string payload = body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (payload == "[DONE]") {
      done = true;
      continue;
    }
    const json e = json::parse(payload, nullptr, false);
    if (e.is_discarded()) return -1;
    if (e.contains("usage") && e["usage"].is_object())
      tokens = e["usage"].value("completion_tokens", int64_t{-1});
    if (e.contains("choices") && !e["choices"].empty() &&
        e["choices"][0]["finish_reason"].is_string())
      finished = e["choices"][0]["finish_reason"] == "length";
  }
  return done && finished ? tokens : -1;
}

Window Served(int port, const std::string& model, const Load& load) {
  const std::string body = json{{"model", model},
                                {"prompt", load.prompt},
                                {"max_tokens", load.max_tokens},
                                {"temperature", 0},
                                {"ignore_eos", true},
                                {"stream", true},
                                {"stream_options", {{"include_usage", true}}}}
                               .dump();
  std::atomic<int64_t> tokens{0}, failures{0};
  Window w;
  w.seconds = RunClients(load.clients, [&](int) {
    bench::LowerClientThreadPriority(load.idle_clients);
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120, 0);
    c.set_keep_alive(true);
    c.set_tcp_nodelay(true);
    for (int k = 0; k < load.requests_per_client; ++k) {
      auto r = c.Post("/v1/completions", body, "application/json");
      const int64_t t = r && r->status == 200 ? StreamedTokens(r->body) : -1;
      if (t < 0)
        failures++;
      else
        tokens += t;
    }
  });
  w.tokens = tokens.load();
  w.failures = failures.load();
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  epara::ApplyLibraryEnvironment(argv);
  int rounds = 6;
  std::vector<int> concurrency = {1, 8};
  Load load;
  load.prompt = "Once upon a time";
  std::string out;
  CLI::App app{"LLM: streaming through the server vs the engine called directly"};
  app.add_option("--rounds", rounds, "Interleaved rounds (ABBA)")->capture_default_str();
  app.add_option("--concurrency", concurrency, "Concurrent clients, one measurement each")
      ->capture_default_str();
  app.add_option("--requests", load.requests_per_client, "Requests per client per window")
      ->capture_default_str();
  app.add_option("--max-tokens", load.max_tokens, "Tokens generated per request")
      ->capture_default_str();
  app.add_option("--out", out, "Write the JSON result here");
  app.add_flag("--idle-clients", load.idle_clients,
               "Served clients in SCHED_IDLE instead of nice 10 (their CPU stays out of the "
               "measurement, as a remote client's would)");
  CLI11_PARSE(app, argc, argv);
  (void)ConfigureHostAllocatorForInference();

  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("epara_llm_serving_bench_" + std::to_string(getpid()));
  if (Status s = models::WriteDemoLlm(dir.string(), {}); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  backend::BackendRegistry backends;
  (void)backends.Register(backend::CreateLibTorchBackend());
  api::ServerOptions so;
  so.models_dir = dir.string();
  so.http.port = 0;
  so.llm_loader = [](const ModelDescriptor& d, std::unique_ptr<llm::LlmEngine>* e) {
    return llm::CreateEngineFromDescriptor(d, e);
  };
  std::unique_ptr<api::Server> server;
  if (Status s = api::Server::Create(so, &backends, &server); !s.ok() || !server->Start().ok()) {
    std::fprintf(stderr, "server: %s\n", s.ToString().c_str());
    return 1;
  }
  const std::string model = "llama-demo";
  const std::shared_ptr<llm::LlmEngine> served = server->llms().Get(model)->engine;
  llm::LlmEngine& engine = *served;

  json results = json::array();
  int64_t failures = 0;
  for (int c : concurrency) {
    Load l = load;
    l.clients = c;
    (void)Direct(engine, l);  // warm both paths
    (void)Served(server->port(), model, l);
    std::vector<double> ratios;
    double sum_direct = 0, sum_served = 0;
    json per_round = json::array();
    for (int r = 0; r < rounds; ++r) {
      Window d, s;
      if (r % 2 == 0) {
        d = Direct(engine, l);
        s = Served(server->port(), model, l);
      } else {
        s = Served(server->port(), model, l);
        d = Direct(engine, l);
      }
      failures += d.failures + s.failures;
      const double d_ms = d.seconds * 1e3 / std::max<int64_t>(1, d.tokens);
      const double s_ms = s.seconds * 1e3 / std::max<int64_t>(1, s.tokens);
      ratios.push_back(s_ms / d_ms);
      sum_direct += d.seconds;
      sum_served += s.seconds;
      per_round.push_back({{"direct_ms_per_token", d_ms},
                           {"served_ms_per_token", s_ms},
                           {"direct_tokens", d.tokens},
                           {"served_tokens", s.tokens},
                           {"served_over_direct", s_ms / d_ms}});
      std::fprintf(stderr, "clients %d round %d: direct %.3f ms/token, served %.3f (%.3f)\n", c, r,
                   d_ms, s_ms, s_ms / d_ms);
    }
    results.push_back({{"clients", c},
                       {"rounds", per_round},
                       {"served_over_direct_time_per_token_median", Median(ratios)},
                       {"served_over_direct_time_per_token_pooled", sum_served / sum_direct}});
  }
  server->Stop();
  std::error_code ec;
  fs::remove_all(dir, ec);
  const json result = {{"benchmark", "llm_serving_bench"},
                       {"model", "demo Llama (untrained), F32, CPU"},
                       {"config",
                        {{"requests_per_client", load.requests_per_client},
                         {"max_tokens", load.max_tokens},
                         {"prompt", load.prompt},
                         {"rounds", rounds},
                         {"client_class", load.idle_clients ? "SCHED_IDLE" : "nice 10"}}},
                       {"by_concurrency", results},
                       {"failures", failures}};
  std::printf("%s\n", result.dump(2).c_str());
  if (!out.empty()) std::ofstream(out) << result.dump(2) << "\n";
  return failures == 0 ? 0 : 2;
}
