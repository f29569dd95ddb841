// llm_bench: the Llama engine on the demo model (or --model DIR), measured directly:
//   decode tokens/s at batch 1, 4, 16, 64 (one ForwardBatch per step, every sequence one token)
//   the batch-1 memory-bandwidth bound: weight bytes per token vs a streaming read measured here
//   prefill tokens/s for 128, 512, 2048-token prompts
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "core/host_allocator.h"
#include "llm/llama_model.h"
#include "models/demo_llm.h"

using namespace epara;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Bytes per second of summing a buffer much larger than the caches, on `threads` threads.
double StreamReadBandwidth(size_t bytes, int threads) {
  std::vector<float> buf(bytes / sizeof(float), 1.0f);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<double> sums(threads);
    auto t0 = Clock::now();
    std::vector<std::thread> ts;
    const size_t per = buf.size() / threads;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        // Eight independent accumulators: a single running sum is a serial add chain that measures
        // add latency, not memory bandwidth.
        const float* p = buf.data() + t * per;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t i = 0; i + 8 <= per; i += 8)
          for (int k = 0; k < 8; ++k) acc[k] += p[i + k];
        sums[t] = std::accumulate(acc, acc + 8, 0.0);
      });
    for (auto& t : ts) t.join();
    const double s = Seconds(Clock::now() - t0);
    if (sums[0] < 0) std::printf("impossible\n");
    best = std::max(best, static_cast<double>(per * threads * sizeof(float)) / s);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, out;
  int steps = 16;
  CLI::App app{"LLM engine: decode and prefill throughput, bandwidth bound"};
  app.add_option("--model", model_dir,
                 "Hugging Face model folder (default: generate the demo model)");
  app.add_option("--steps", steps, "Decode steps per batch size")->capture_default_str();
  app.add_option("--out", out, "Write the JSON result here");
  CLI11_PARSE(app, argc, argv);
  ConfigureHostAllocatorForInference();
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / ("epara_llm_bench_" + std::to_string(getpid()));
  if (model_dir.empty()) {
    if (!models::WriteDemoLlm(tmp.string(), {}).ok()) return 1;
    model_dir = (tmp / "llama-demo").string();
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::unique_ptr<llm::LlamaModel> m;
  if (Status s = llm::LlamaModel::Load(model_dir, {"cpu", cores}, &m); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  nlohmann::json result = {{"benchmark", "llm_bench"},
                           {"model", model_dir},
                           {"cores", cores},
                           {"weight_bytes_f32", m->weight_bytes()}};
  const double bw = StreamReadBandwidth(512u << 20, cores);
  result["stream_read_bytes_per_s"] = bw;
  result["batch1_bound_tokens_per_s"] = bw / static_cast<double>(m->weight_bytes());

  // Decode: every sequence has a 32-token context, then `steps` single-token steps together.
  nlohmann::json decode = nlohmann::json::object();
  for (int batch : {1, 4, 16, 64}) {
    std::vector<std::unique_ptr<llm::KvCache>> caches;
    std::vector<llm::LlamaModel::Chunk> chunks;
    std::vector<int32_t> prompt(32);
    for (int i = 0; i < 32; ++i) prompt[i] = 3 + (i * 7) % 250;
    std::vector<float> logits;
    for (int b = 0; b < batch; ++b) {
      caches.push_back(m->NewCache(32 + steps + 8));
      chunks.push_back({prompt, caches.back().get()});
    }
    (void)m->ForwardBatch(chunks, false, &logits);
    std::vector<int32_t> next(batch, 5);
    for (int b = 0; b < batch; ++b) chunks[b] = {std::span(&next[b], 1), caches[b].get()};
    (void)m->ForwardBatch(chunks, false, &logits);  // warm
    auto t0 = Clock::now();
    for (int s = 0; s < steps; ++s) (void)m->ForwardBatch(chunks, false, &logits);
    const double tps = batch * steps / Seconds(Clock::now() - t0);
    decode[std::to_string(batch)] = tps;
    std::fprintf(stderr, "decode batch %d: %.1f tokens/s\n", batch, tps);
  }
  result["decode_tokens_per_s"] = decode;
  result["decode_batch1_fraction_of_bound"] =
      decode["1"].get<double>() / result["batch1_bound_tokens_per_s"].get<double>();
  result["decode_batch16_over_batch1"] = decode["16"].get<double>() / decode["1"].get<double>();

  nlohmann::json prefill = nlohmann::json::object();
  for (int len : {128, 512, 2048}) {
    std::vector<int32_t> prompt(len);
    for (int i = 0; i < len; ++i) prompt[i] = 3 + (i * 13) % 250;
    std::vector<float> logits;
    double best = 0;
    for (int rep = 0; rep < 2; ++rep) {
      auto cache = m->NewCache(len);
      llm::LlamaModel::Chunk c{prompt, cache.get()};
      auto t0 = Clock::now();
      (void)m->ForwardBatch(std::span(&c, 1), false, &logits);
      best = std::max(best, len / Seconds(Clock::now() - t0));
    }
    prefill[std::to_string(len)] = best;
    std::fprintf(stderr, "prefill %d: %.0f tokens/s\n", len, best);
  }
  result["prefill_tokens_per_s"] = prefill;
  std::error_code ec;
  fs::remove_all(tmp, ec);
  std::printf("%s\n", result.dump(2).c_str());
  if (!out.empty()) std::ofstream(out) << result.dump(2) << "\n";
  return 0;
}
