// peer_bench: epara's LLM engine against llama.cpp on the same weights, in one sitting.
//
// The model: one Hugging Face folder (--model, or a generated untrained model of --shape: demo,
// stories15m (dim 288, 6 layers, vocab 32000) or 134m (dim 768, 12 layers, vocab 32000)) and the
// GGUF file written from it here (llm/gguf_export.h: the same weights). bench/peer/run.sh builds
// llama.cpp from the npm bundle and runs this for each shape. Each round measures, in alternating
// order (ABBA), llama.cpp's `llama-bench` (a child process, -r repetitions, its mean) and epara's
// engine in this process (the same number of repetitions, the mean):
//   prefill of --prompts tokens (tokens/s of one prompt from an empty cache),
//   decode at batch 1 (tokens/s of --decode-tokens steps after a one-token prompt),
// with the same thread count. Ratios epara / llama.cpp are per round; the report gives medians.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "bench_util.h"
#include "core/host_allocator.h"
#include "llm/gguf_export.h"
#include "llm/llama_model.h"
#include "models/demo_llm.h"

using namespace epara;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

using bench::Median;
using bench::Seconds;

// Runs `command` and returns its standard output; false when it fails.
bool RunCapture(const std::string& command, std::string* out) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) return false;
  char buf[4096];
  size_t n;
  out->clear();
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  return pclose(p) == 0;
}

// llama-bench's mean tokens/s for one test: a prompt of `prompt` tokens (gen 0) or `gen`
// generated tokens (prompt 0). 0 on failure.
double LlamaBench(const std::string& exe, const std::string& gguf, int threads, int prompt, int gen,
                  int reps) {
  std::ostringstream cmd;
  cmd << exe << " -m " << gguf << " -t " << threads << " -p " << prompt << " -n " << gen << " -r "
      << reps << " -o json 2>/dev/null";
  std::string out;
  if (!RunCapture(cmd.str(), &out)) {
    std::fprintf(stderr, "llama-bench failed: %s\n", cmd.str().c_str());
    return 0;
  }
  const json j = json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty()) {
    std::fprintf(stderr, "llama-bench printed no JSON: %s\n", out.substr(0, 300).c_str());
    return 0;
  }
  return j[0].value("avg_ts", 0.0);
}

// epara: mean tokens/s of `reps` prefills of `len` tokens, each into an empty cache.
double EparaPrefill(llm::LlamaModel& m, int len, int reps) {
  std::vector<int32_t> prompt(len);
  for (int i = 0; i < len; ++i) prompt[i] = 3 + (i * 13) % (m.config().vocab_size - 3);
  std::vector<float> logits;
  double sum = 0;
  for (int r = -1; r < reps; ++r) {  // one warm-up, as llama-bench does
    auto cache = m.NewCache(len);
    llm::LlamaModel::Chunk c{prompt, cache.get()};
    const auto t0 = Clock::now();
    (void)m.ForwardBatch(std::span(&c, 1), false, &logits);
    if (r >= 0) sum += len / Seconds(Clock::now() - t0);
  }
  return sum / reps;
}

// epara: mean tokens/s of `reps` runs of `gen` decode steps at batch 1 after a one-token prompt.
double EparaDecode(llm::LlamaModel& m, int gen, int reps) {
  std::vector<float> logits;
  double sum = 0;
  for (int r = -1; r < reps; ++r) {
    auto cache = m.NewCache(gen + 2);
    int32_t token = 1;
    llm::LlamaModel::Chunk c{std::span(&token, 1), cache.get()};
    (void)m.ForwardBatch(std::span(&c, 1), false, &logits);
    const auto t0 = Clock::now();
    for (int s = 0; s < gen; ++s) {
      token = static_cast<int32_t>(3 + (s * 7) % 200);
      (void)m.ForwardBatch(std::span(&c, 1), false, &logits);
    }
    if (r >= 0) sum += gen / Seconds(Clock::now() - t0);
  }
  return sum / reps;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, llama_bench, out, shape = "demo", weights = "f32";
  int rounds = 3, reps = 3, decode_tokens = 64, threads = 0;
  std::vector<int> prompts = {128, 512};
  CLI::App app{"epara vs llama.cpp on the same weights: prefill and batch-1 decode"};
  app.add_option("--model", model_dir, "Hugging Face folder (default: generate --shape)");
  app.add_option("--shape", shape, "Generated model: demo, stories15m or 134m")
      ->check(CLI::IsMember({"demo", "stories15m", "134m"}))
      ->capture_default_str();
  app.add_option("--llama-bench", llama_bench, "llama.cpp's llama-bench executable")->required();
  app.add_option("--weights", weights,
                 "Weight matrices on both sides: f32, or q8_0 (epara quantizes at load, the GGUF "
                 "is written as Q8_0: the same blocks)")
      ->check(CLI::IsMember({"f32", "q8_0"}))
      ->capture_default_str();
  app.add_option("--rounds", rounds, "Interleaved rounds")->capture_default_str();
  app.add_option("--reps", reps, "Repetitions per measurement (both sides)")->capture_default_str();
  app.add_option("--prompts", prompts, "Prompt lengths")->delimiter(',')->capture_default_str();
  app.add_option("--decode-tokens", decode_tokens, "Decode steps")->capture_default_str();
  app.add_option("--threads", threads, "Threads on both sides (0: all cores)")
      ->capture_default_str();
  app.add_option("--out", out, "Write the JSON result here");
  CLI11_PARSE(app, argc, argv);
  ConfigureHostAllocatorForInference();
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / ("epara_peer_bench_" + std::to_string(getpid()));
  if (model_dir.empty()) {
    models::DemoLlmOptions o;
    if (shape == "stories15m") {
      o.hidden = 288, o.layers = 6, o.heads = 6, o.kv_heads = 6, o.intermediate = 768;
      o.vocab = 32000;
    } else if (shape == "134m") {
      o.hidden = 768, o.layers = 12, o.heads = 12, o.kv_heads = 12, o.intermediate = 2048;
      o.vocab = 32000;
    }
    if (!models::WriteDemoLlm(tmp.string(), o).ok()) return 1;
    model_dir = (tmp / "llama-demo").string();
  } else {
    shape = model_dir;
  }
  const bool q8 = weights == "q8_0";
  const std::string gguf = (tmp / ("model-" + weights + ".gguf")).string();
  fs::create_directories(tmp);
  llm::GgufExportOptions export_options;
  if (q8) export_options.matrices = formats::GgmlType::kQ8_0;
  if (Status s = llm::ExportLlamaGguf(model_dir, gguf, export_options); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::unique_ptr<llm::LlamaModel> m;
  llm::LlamaLoadOptions load{"cpu", threads};
  if (q8) load.weights = llm::LlamaLoadOptions::Weights::kQ8_0;
  if (Status s = llm::LlamaModel::Load(model_dir, load, &m); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }

  // One measurement pair per test and round: {name, epara, llama.cpp}.
  struct Test {
    std::string name;
    std::function<double()> epara, peer;
    std::vector<double> e = {}, p = {}, ratio = {};
  };
  std::vector<Test> tests;
  for (int len : prompts)
    tests.push_back({"prefill_" + std::to_string(len),
                     [&, len] { return EparaPrefill(*m, len, reps); },
                     [&, len] { return LlamaBench(llama_bench, gguf, threads, len, 0, reps); }});
  tests.push_back({"decode_b1", [&] { return EparaDecode(*m, decode_tokens, reps); },
                   [&] { return LlamaBench(llama_bench, gguf, threads, 0, decode_tokens, reps); }});
  json per_round = json::array();
  for (int r = 0; r < rounds; ++r) {
    json row = json::object();
    for (Test& t : tests) {
      double e = 0, p = 0;
      if (r % 2 == 0) {
        e = t.epara();
        p = t.peer();
      } else {
        p = t.peer();
        e = t.epara();
      }
      if (e <= 0 || p <= 0) return 1;
      t.e.push_back(e);
      t.p.push_back(p);
      t.ratio.push_back(e / p);
      row[t.name] = {{"epara_tokens_per_s", e}, {"llama_cpp_tokens_per_s", p}, {"ratio", e / p}};
      std::fprintf(stderr, "round %d %s: epara %.0f llama.cpp %.0f tokens/s (%.2f)\n", r,
                   t.name.c_str(), e, p, e / p);
    }
    per_round.push_back(row);
  }
  json summary = json::object();
  for (const Test& t : tests)
    summary[t.name] = {{"epara_tokens_per_s", Median(t.e)},
                       {"llama_cpp_tokens_per_s", Median(t.p)},
                       {"ratio_median", Median(t.ratio)}};
  json result = {{"benchmark", "peer_bench"},
                 {"weights", q8 ? "q8_0 (epara quantizes the F32 values at load; the GGUF holds "
                                  "the same Q8_0 blocks, its token embedding Q8_0 too)"
                                : "f32 (llama.cpp: the same values as an F32 GGUF)"},
                 {"model", shape},
                 {"parameters", m->weight_bytes() / 4},
                 {"llama_cpp",
                  "llama-bench from node-llama-cpp@3.21.1's bundle (commit 80fb11a), "
                  "its defaults otherwise (f16 KV cache, flash attention auto)"},
                 {"threads", threads},
                 {"rounds", rounds},
                 {"reps", reps},
                 {"decode_tokens", decode_tokens},
                 {"epara_weight_bytes", m->weight_bytes()},
                 {"per_round", per_round},
                 {"summary", summary}};
  std::error_code ec;
  fs::remove_all(tmp, ec);
  std::printf("%s\n", result.dump(2).c_str());
  if (!out.empty()) std::ofstream(out) << result.dump(2) << "\n";
  return 0;
}
