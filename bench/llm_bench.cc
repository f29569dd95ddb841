// llm_bench: the Llama engine on the demo model (or --model DIR), measured directly:
//   decode tokens/s at batch 1, 4, 16, 64 (one ForwardBatch per step, every sequence one token),
//   and at batch 1 with LibTorch ops only (the decode kernels turned off)
//   the batch-1 memory-bandwidth bound: weight bytes per token vs the best streaming read measured
//   here (weight-sized and DRAM-sized buffers, 1..cores threads)
//   prefill tokens/s for 128, 512, 2048-token prompts, on the kernels and on LibTorch ops
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>

#include "bench_util.h"
#include "core/cpu_dispatch.h"
#include "core/host_allocator.h"
#include "core/library_env.h"
#include "core/spin_pool.h"
#include "llm/llama_model.h"
#include "models/demo_llm.h"

using namespace epara;
using Clock = std::chrono::steady_clock;

namespace {

using bench::Seconds;

// Sum of n floats read as 16 concurrent streams of 2 KB rows (the access pattern of the decode
// kernels' 16-row tiles, which keeps more loads in flight than one sequential stream), vectorized
// per CPU level like the kernels.
typedef float V16 __attribute__((vector_size(64)));
EPARA_CPU_CLONES float SumFloats(const float* p, size_t n) {
  constexpr size_t kRow = 512, kRows = 16;
  V16 acc[kRows] = {};
  size_t i = 0;
  for (; i + kRow * kRows <= n; i += kRow * kRows)
    for (size_t k = 0; k < kRow; k += 16)
      for (size_t r = 0; r < kRows; ++r) {
        V16 v;
        std::memcpy(&v, p + i + r * kRow + k, sizeof(v));
        acc[r] += v;
      }
  float s = 0;
  for (; i < n; ++i) s += p[i];
  for (const V16& a : acc)
    for (int l = 0; l < 16; ++l) s += a[l];
  return s;
}

// FLOP/s of independent fused multiply-adds on `threads` threads (the compute ceiling that
// batched decode approaches).
EPARA_CPU_CLONES float FmaLoop(int64_t iters) {
  V16 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = V16{} + (1.0f + static_cast<float>(i));
  const V16 m = V16{} + 0.999999f, c = V16{} + 1e-7f;
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = acc[i] * m + c;
  float s = 0;
  for (const V16& a : acc) s += a[0];
  return s;
}

double PeakFlops(int threads) {
  constexpr int64_t kIters = 20'000'000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<float> out(threads);
    auto t0 = Clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] { out[t] = FmaLoop(kIters); });
    for (auto& t : ts) t.join();
    if (out[0] < 0) std::printf("impossible\n");
    best = std::max(best, threads * kIters * 12.0 * 16 * 2 / Seconds(Clock::now() - t0));
  }
  return best;
}

// Best bytes per second of reading a `bytes` buffer over and over on `threads` threads. A buffer
// the size of the weights sees the same caches the decode step does (it rereads the weights
// every token); a much larger one measures DRAM alone.
double StreamReadBandwidth(size_t bytes, int threads) {
  std::vector<float> buf(bytes / sizeof(float), 1.0f);
  double best = 0;
  for (int rep = 0; rep < 8; ++rep) {
    std::vector<float> sums(threads);
    auto t0 = Clock::now();
    std::vector<std::thread> ts;
    const size_t per = buf.size() / threads;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] { sums[t] = SumFloats(buf.data() + t * per, per); });
    for (auto& t : ts) t.join();
    const double s = Seconds(Clock::now() - t0);
    if (sums[0] < 0) std::printf("impossible\n");
    best = std::max(best, static_cast<double>(per * threads * sizeof(float)) / s);
  }
  return best;
}

// The highest streaming-read rate this machine gives right now: weight-sized and DRAM-sized
// buffers, every thread count up to `max_threads`.
double BestReadBandwidth(size_t weight_bytes, int max_threads) {
  double best = 0;
  for (size_t bytes : {weight_bytes, size_t{512} << 20})
    for (int t = 1; t <= max_threads; ++t) best = std::max(best, StreamReadBandwidth(bytes, t));
  return best;
}

// The 32-token context every decode measurement starts from.
std::vector<int32_t> DecodeContext() {
  std::vector<int32_t> prompt(32);
  for (int i = 0; i < 32; ++i) prompt[i] = 3 + (i * 7) % 250;
  return prompt;
}

// Tokens/s of `steps` decode steps with `batch` sequences that each hold a 32-token context.
double DecodeTokensPerSecond(llm::LlamaModel& m, int batch, int steps) {
  std::vector<std::unique_ptr<llm::KvCache>> caches;
  std::vector<llm::LlamaModel::Chunk> chunks;
  const std::vector<int32_t> prompt = DecodeContext();
  std::vector<float> logits;
  for (int b = 0; b < batch; ++b) {
    caches.push_back(m.NewCache(32 + steps + 8));
    chunks.push_back({prompt, caches.back().get()});
  }
  (void)m.ForwardBatch(chunks, false, &logits);
  std::vector<int32_t> next(batch, 5);
  for (int b = 0; b < batch; ++b) chunks[b] = {std::span(&next[b], 1), caches[b].get()};
  (void)m.ForwardBatch(chunks, false, &logits);  // warm
  auto t0 = Clock::now();
  for (int s = 0; s < steps; ++s) (void)m.ForwardBatch(chunks, false, &logits);
  return batch * steps / Seconds(Clock::now() - t0);
}

// Batch-1 decode against the bandwidth bound, paired: `steps` times, one streaming read of a
// weight-sized buffer (on the same kind of worker pool the kernels use) and then one decode step.
// Each pass evicts the other's data, so both stream their bytes from the same memory level, and
// pairing step by step keeps the shared machine's second-to-second swings out of the ratio.
// Returns {read seconds, decode seconds} summed over the steps.
std::pair<double, double> PairedReadAndDecode(llm::LlamaModel& m, SpinPool& pool,
                                              const std::vector<float>& buf, int steps) {
  const std::vector<int32_t> prompt = DecodeContext();
  auto cache = m.NewCache(32 + steps + 8);
  std::vector<float> logits;
  llm::LlamaModel::Chunk c{prompt, cache.get()};
  (void)m.ForwardBatch(std::span(&c, 1), false, &logits);
  int32_t next = 5;
  c = {std::span(&next, 1), cache.get()};
  constexpr size_t kBlock = 512 * 16;
  const int64_t blocks = static_cast<int64_t>(buf.size() / kBlock);
  std::vector<float> sums(blocks);
  double read = 0, decode = 0;
  for (int s = -1; s < steps; ++s) {  // s = -1 warms both
    auto t0 = Clock::now();
    pool.ParallelFor(blocks, 1, [&](int64_t b0, int64_t b1) {
      sums[b0] = SumFloats(buf.data() + b0 * kBlock, (b1 - b0) * kBlock);
    });
    auto t1 = Clock::now();
    (void)m.ForwardBatch(std::span(&c, 1), false, &logits);
    auto t2 = Clock::now();
    if (sums[0] < 0) std::printf("impossible\n");
    if (s < 0) continue;
    read += Seconds(t1 - t0);
    decode += Seconds(t2 - t1);
  }
  return {read, decode};
}

using bench::Median;

}  // namespace

int main(int argc, char** argv) {
  epara::ApplyLibraryEnvironment(argv);
  std::string model_dir, out;
  int steps = 64, rounds = 5;
  llm::LlamaLoadOptions served{"cpu", 0};
  CLI::App app{"LLM engine: decode and prefill throughput, bandwidth bound"};
  app.add_option("--model", model_dir,
                 "Hugging Face model folder (default: generate the demo model)");
  app.add_option("--steps", steps, "Decode steps per batch size")->capture_default_str();
  app.add_option("--rounds", rounds, "Interleaved rounds (bandwidth, then every decode batch)")
      ->capture_default_str();
  int threads = 0;
  app.add_option("--threads", threads, "Intra-op threads (0: all cores)")->capture_default_str();
  app.add_option("--out", out, "Write the JSON result here");
  std::vector<int> batches = {1, 4, 16, 64};
  app.add_option("--batches", batches, "Decode batch sizes (b16/b1 needs 1 and 16)")
      ->delimiter(',')
      ->capture_default_str();
  bool libtorch_ops = true;
  app.add_flag("!--no-libtorch-ops", libtorch_ops,
               "Skip the batch-1 comparison with LibTorch ops (slow; for profiling)");
  std::vector<int> prompt_lengths = {128, 512, 2048};
  app.add_option("--prompts", prompt_lengths, "Prefill prompt lengths")
      ->delimiter(',')
      ->capture_default_str();
  bool prefill_only = false;
  app.add_flag("--prefill-only", prefill_only, "Only the prefill measurements (for profiling)");
  bool decode_only = false;
  app.add_flag("--decode-only", decode_only,
               "Only the decode batches: no bandwidth bound, no prefill (for profiling)");
  CLI11_PARSE(app, argc, argv);
  if (decode_only) libtorch_ops = false;
  ConfigureHostAllocatorForInference();
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / ("epara_llm_bench_" + std::to_string(getpid()));
  if (model_dir.empty()) {
    if (!models::WriteDemoLlm(tmp.string(), {}).ok()) return 1;
    model_dir = (tmp / "llama-demo").string();
  }
  const int cores =
      threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The engine as served (decode kernels for small decode steps) and, for comparison, LibTorch
  // ops for every step.
  std::unique_ptr<llm::LlamaModel> m, m_torch;
  served.threads = cores;
  llm::LlamaLoadOptions torch_only{"cpu", cores};
  torch_only.cpu_kernels = false;
  for (auto [opts, dst] : {std::pair{served, &m}, std::pair{torch_only, &m_torch}})
    if (Status s = llm::LlamaModel::Load(model_dir, opts, dst); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  const double weight_bytes = static_cast<double>(m->weight_bytes());
  nlohmann::json result = {{"benchmark", "llm_bench"},
                           {"model", model_dir},
                           {"cores", cores},
                           {"steps", steps},
                           {"weight_bytes_f32", m->weight_bytes()},
                           {"cpu_kernels", served.cpu_kernels}};

  // Rounds: the bandwidth bound and every decode batch size back to back, so the shared
  // machine's drift hits the bound and the measurement alike; ratios are per round.
  nlohmann::json per_round = nlohmann::json::array();
  std::vector<double> frac_bound, b16_over_b1, kernel_over_torch_b1;
  SpinPool pool(cores);
  const std::vector<float> weight_sized(static_cast<size_t>(weight_bytes) / sizeof(float), 1.0f);
  std::map<int, std::vector<double>> tps;
  for (int r = 0; r < (prefill_only ? 0 : rounds); ++r) {
    nlohmann::json row = nlohmann::json::object();
    double read_s = 0, decode_s = 1;
    if (!decode_only) {
      const double bw = BestReadBandwidth(static_cast<size_t>(weight_bytes), cores);
      std::tie(read_s, decode_s) = PairedReadAndDecode(*m, pool, weight_sized, steps);
      row = {{"stream_read_bytes_per_s_best", bw},
             {"paired_read_bytes_per_s", weight_bytes * steps / read_s},
             {"paired_batch1_bound_tokens_per_s", steps / read_s},
             {"paired_batch1_decode_tokens_per_s", steps / decode_s}};
    }
    for (int batch : batches) {
      const double t = DecodeTokensPerSecond(*m, batch, steps);
      tps[batch].push_back(t);
      row["decode_tokens_per_s"][std::to_string(batch)] = t;
    }
    // This round's tokens/s at `batch`; 0 when --batches left it out.
    const auto last = [&](int batch) { return tps.count(batch) ? tps[batch].back() : 0.0; };
    const double torch_b1 = libtorch_ops ? DecodeTokensPerSecond(*m_torch, 1, steps) : 0;
    if (libtorch_ops) row["decode_tokens_per_s_libtorch_ops"]["1"] = torch_b1;
    const double b1 = last(1);
    if (!decode_only) frac_bound.push_back(read_s / decode_s);
    if (b1 > 0 && last(16) > 0) b16_over_b1.push_back(last(16) / b1);
    if (b1 > 0 && torch_b1 > 0) kernel_over_torch_b1.push_back(b1 / torch_b1);
    std::fprintf(stderr,
                 "round %d: paired bound %.0f tok/s, decode %.0f (%.2f of bound) | b1 %.0f "
                 "(LibTorch ops %.0f) b4 %.0f b16 %.0f b64 %.0f\n",
                 r, steps / read_s, steps / decode_s, read_s / decode_s, b1, torch_b1, last(4),
                 last(16), last(64));
    per_round.push_back(row);
  }
  result["rounds"] = per_round;
  // Batched decode is compute-bound: 2 FLOP per weight per token against 4 bytes per weight per
  // step at batch 1, so batch N can beat batch 1 by at most 2 * FLOP/s / (bytes/s).
  const double flops = PeakFlops(cores);
  result["fma_peak_flop_per_s"] = flops;
  std::fprintf(stderr, "FMA peak %.0f GFLOP/s\n", flops / 1e9);
  for (int batch : batches)
    result["decode_tokens_per_s_median"][std::to_string(batch)] = Median(tps[batch]);
  if (!decode_only) result["decode_batch1_fraction_of_bound_median"] = Median(frac_bound);
  result["decode_batch16_over_batch1_median"] = Median(b16_over_b1);
  result["decode_batch1_kernels_over_libtorch_ops_median"] = Median(kernel_over_torch_b1);

  // Prefill on the kernels and on LibTorch ops, interleaved (kernels, ops, ops, kernels, ...):
  // tokens/s medians and the per-pair ratio.
  nlohmann::json prefill = nlohmann::json::object(), prefill_ops = nlohmann::json::object(),
                 prefill_ratio = nlohmann::json::object();
  for (int len : decode_only ? std::vector<int>{} : prompt_lengths) {
    std::vector<int32_t> prompt(len);
    for (int i = 0; i < len; ++i) prompt[i] = 3 + (i * 13) % 250;
    std::vector<float> logits;
    const auto run = [&](llm::LlamaModel& model) {
      auto cache = model.NewCache(len);
      llm::LlamaModel::Chunk c{prompt, cache.get()};
      const auto t0 = Clock::now();
      (void)model.ForwardBatch(std::span(&c, 1), false, &logits);
      return len / Seconds(Clock::now() - t0);
    };
    (void)run(*m);  // warm (scratch buffers grow to this length)
    std::vector<double> k, o, ratio;
    for (int rep = 0; rep < std::max(3, rounds); ++rep) {
      double tk = 0, to = 0;
      if (rep % 2 == 0) {
        tk = run(*m);
        to = libtorch_ops ? run(*m_torch) : 0;
      } else {
        to = libtorch_ops ? run(*m_torch) : 0;
        tk = run(*m);
      }
      k.push_back(tk);
      if (to > 0) o.push_back(to), ratio.push_back(tk / to);
    }
    const std::string key = std::to_string(len);
    prefill[key] = Median(k);
    if (!o.empty()) prefill_ops[key] = Median(o), prefill_ratio[key] = Median(ratio);
    std::fprintf(stderr, "prefill %d: %.0f tokens/s (LibTorch ops %.0f)\n", len, Median(k),
                 o.empty() ? 0.0 : Median(o));
  }
  result["prefill_tokens_per_s"] = prefill;
  result["prefill_tokens_per_s_libtorch_ops"] = prefill_ops;
  result["prefill_kernels_over_libtorch_ops_median"] = prefill_ratio;
  std::error_code ec;
  fs::remove_all(tmp, ec);
  std::printf("%s\n", result.dump(2).c_str());
  if (!out.empty()) std::ofstream(out) << result.dump(2) << "\n";
  return 0;
}
