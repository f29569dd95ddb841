// chunked_prefill_bench: what a long prompt does to the streams already decoding (issue 22).
//
// One engine (the demo model or --model, in this process), --streams sequences decoding; then a
// prompt of --prompt tokens arrives. Every engine step is timed (a LlamaModel wrapper around the
// real one): each decoding stream gets one token per step, so a step's duration is the time per
// output token of every stream in it. Reported per token budget (--budgets): the median, p99 and
// largest of those step times over the streams' lives (--stream-tokens each, the prompt arriving
// once they all decode), p99 / median (the issue asks <= 1.5), and the long prompt's time to
// first token. A budget larger
// than the prompt prefills it in one step (what the engine did before chunked prefill); smaller
// budgets run it in chunks beside the decodes.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "core/host_allocator.h"
#include "llm/llm_engine.h"
#include "llm/tokenizer.h"

using namespace epara;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

// Forwards everything to the real model and records each step's wall time and token counts.
class TimedModel final : public llm::LlamaModel {
 public:
  struct Step {
    Clock::time_point start;
    double ms;
    int decodes, prompt_tokens;
  };
  explicit TimedModel(std::unique_ptr<llm::LlamaModel> m) : m_(std::move(m)) {}
  const llm::LlamaConfig& config() const override { return m_->config(); }
  int64_t weight_bytes() const override { return m_->weight_bytes(); }
  int64_t kv_bytes_per_token() const override { return m_->kv_bytes_per_token(); }
  std::unique_ptr<llm::KvCache> NewCache(int capacity) override { return m_->NewCache(capacity); }
  int first_layer() const override { return m_->first_layer(); }
  int end_layer() const override { return m_->end_layer(); }
  Status ForwardStage(std::span<const Chunk> chunks, std::span<const float> hidden_in,
                      bool all_positions, std::vector<float>* out) override {
    int decodes = 0, prompt = 0;
    for (const Chunk& c : chunks) {
      if (c.tokens.size() == 1 && c.cache->length() > 0)
        ++decodes;
      else
        prompt += static_cast<int>(c.tokens.size());
    }
    const auto t0 = Clock::now();
    Status s = m_->ForwardStage(chunks, hidden_in, all_positions, out);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::lock_guard<std::mutex> lock(mu_);
    steps_.push_back({t0, ms, decodes, prompt});
    return s;
  }
  std::vector<Step> steps() {
    std::lock_guard<std::mutex> lock(mu_);
    return steps_;
  }

 private:
  std::unique_ptr<llm::LlamaModel> m_;
  std::mutex mu_;
  std::vector<Step> steps_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir = "demo-models/llama-demo", out;
  int threads = 2, streams = 8, prompt = 2000, stream_tokens = 100;
  std::vector<int> budgets = {4096, 512, 256, 128};
  std::vector<double> slos = {};
  CLI::App app{"Time per output token of decoding streams while a long prompt prefills"};
  app.add_option("--model", model_dir, "Model folder (Hugging Face or GGUF)")
      ->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--streams", streams, "Streams decoding when the prompt arrives")
      ->capture_default_str();
  app.add_option("--prompt", prompt, "Long prompt tokens")->capture_default_str();
  app.add_option("--stream-tokens", stream_tokens, "Tokens each stream generates")
      ->capture_default_str();
  app.add_option("--budgets", budgets, "Step token budgets to compare")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--tpot-slos", slos,
                 "Also run with SLO-sized steps (EngineOptions::tpot_slo_ms) at these TPOT SLOs "
                 "(token budget 4096)")
      ->delimiter(',');
  app.add_option("--out", out, "Write the JSON result here");
  CLI11_PARSE(app, argc, argv);
  ConfigureHostAllocatorForInference();
  json rows = json::array();
  struct Config {
    int budget;
    double slo;
  };
  std::vector<Config> configs;
  for (int b : budgets) configs.push_back({b, 0});
  for (double slo : slos) configs.push_back({4096, slo});
  for (const auto& [budget, slo] : configs) {
    std::unique_ptr<llm::LlamaModel> base;
    std::unique_ptr<llm::Tokenizer> tok;
    if (Status s = llm::LlamaModel::Load(model_dir, {"cpu", threads}, &base); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    if (Status s = llm::LoadTokenizer(model_dir, &tok); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    const int vocab = tok->vocab_size();
    auto timed = std::make_unique<TimedModel>(std::move(base));
    TimedModel* timer = timed.get();
    llm::EngineOptions o;
    o.token_budget = budget;
    o.tpot_slo_ms = slo;
    o.max_running = streams + 1;
    o.kv_budget_bytes = int64_t{1} << 30;
    std::unique_ptr<llm::LlmEngine> e;
    if (Status s = llm::LlmEngine::Create(std::move(timed), std::move(tok), o, &e); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    std::vector<std::future<void>> started, done;
    for (int i = 0; i < streams; ++i) {
      llm::GenerationRequest r;
      r.prompt = {1, static_cast<int32_t>(3 + i % (vocab - 3))};
      r.max_tokens = stream_tokens;
      r.ignore_eos = true;
      auto first = std::make_shared<std::promise<void>>();
      started.push_back(first->get_future());
      r.on_delta = [first, seen = std::make_shared<bool>(false)](const std::string&, auto) {
        if (!*seen) first->set_value();
        *seen = true;
        return true;
      };
      auto fin = std::make_shared<std::promise<void>>();
      done.push_back(fin->get_future());
      if (!e->Submit(std::move(r), [fin](llm::GenerationResult) { fin->set_value(); }).ok())
        return 1;
    }
    for (auto& f : started) f.wait();
    llm::GenerationRequest longr;
    longr.prompt.push_back(1);
    for (int i = 1; i < prompt; ++i) longr.prompt.push_back(3 + (i * 31) % (vocab - 3));
    longr.max_tokens = 1;
    std::promise<llm::GenerationResult> long_done;
    const auto arrival = Clock::now();
    if (!e->Submit(longr, [&](llm::GenerationResult r) { long_done.set_value(std::move(r)); }).ok())
      return 1;
    const llm::GenerationResult lr = long_done.get_future().get();
    const auto first_token = Clock::now();
    for (auto& f : done) f.wait();
    // Every step with decodes while all the streams ran: each is one output token of each stream
    // in it, so these are the streams' times per output token.
    std::vector<double> tpot, during;
    int max_tokens = 0;
    for (const TimedModel::Step& s : timer->steps()) {
      if (s.decodes == 0) continue;
      tpot.push_back(s.ms);
      if (s.start >= arrival && s.start < first_token) {
        during.push_back(s.ms);
        max_tokens = std::max(max_tokens, s.decodes + s.prompt_tokens);
      }
    }
    const double median = bench::Median(tpot), p99 = bench::Percentile(tpot, 99),
                 worst = bench::Percentile(tpot, 100);
    std::fprintf(
        stderr,
        "budget %5d slo %4.0f: streams' tpot median %.1f ms p99 %.1f ms (%.2fx) max %.1f ms "
        "(%.2fx); %zu steps while prefilling; long prompt ttft %.0f ms\n",
        budget, slo, median, p99, p99 / median, worst, worst / median, during.size(),
        lr.ttft_seconds * 1e3);
    rows.push_back({{"token_budget", budget},
                    {"tpot_slo_ms", slo},
                    {"decode_steps", tpot.size()},
                    {"steps_while_prefilling", during.size()},
                    {"largest_step_tokens", max_tokens},
                    {"tpot_median_ms", median},
                    {"tpot_p99_ms", p99},
                    {"tpot_max_ms", worst},
                    {"p99_over_median", p99 / median},
                    {"max_over_median", worst / median},
                    {"long_prompt_ttft_ms", lr.ttft_seconds * 1e3}});
  }
  const json result = {{"benchmark", "chunked_prefill_bench"},
                       {"model", model_dir},
                       {"threads", threads},
                       {"streams", streams},
                       {"prompt_tokens", prompt},
                       {"rows", rows}};
  std::printf("%s\n", result.dump(2).c_str());
  if (!out.empty()) std::ofstream(out) << result.dump(2) << "\n";
  return 0;
}
