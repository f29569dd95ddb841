#include "llm/llm_engine.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>

#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>

#include "llm/engine_factory.h"
#include "llm/gguf_export.h"
#include "llm/tiny_llm_testing.h"
#include "repo/model_descriptor.h"
#if EPARA_HAVE_ONIG
#include "llm/bpe_tokenizer.h"
#endif

namespace epara::llm {
namespace {

namespace fs = std::filesystem;

class LlmEngineTest : public TinyLlmTest<2> {
 protected:
  static std::unique_ptr<LlmEngine> Engine(EngineOptions o = {}) {
    std::unique_ptr<LlamaModel> m;
    std::unique_ptr<Tokenizer> t;
    const std::string d = (*dir_ / "llama-demo").string();
    EXPECT_TRUE(LlamaModel::Load(d, {"cpu", 1}, &m).ok());
    EXPECT_TRUE(LoadTokenizer(d, &t).ok());
    std::unique_ptr<LlmEngine> e;
    EXPECT_TRUE(LlmEngine::Create(std::move(m), std::move(t), o, &e).ok());
    return e;
  }
  static GenerationRequest Request(const std::string& prompt, int max_tokens,
                                   double temperature = 0, uint64_t seed = 0) {
    GenerationRequest r;
    r.prompt = {ByteTokenizer::kBos};
    for (int32_t id : ByteTokenizer().Encode(prompt)) r.prompt.push_back(id);
    r.max_tokens = max_tokens;
    r.sampling.temperature = temperature;
    r.seed = seed;
    return r;
  }
  // Submits and returns a future of the result.
  static std::future<GenerationResult> Run(LlmEngine& e, GenerationRequest r) {
    auto p = std::make_shared<std::promise<GenerationResult>>();
    auto f = p->get_future();
    Status s = e.Submit(std::move(r), [p](GenerationResult res) { p->set_value(std::move(res)); });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return f;
  }
  static GenerationResult Await(std::future<GenerationResult>& f) {
    EXPECT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready);
    return f.get();
  }
  // A request whose first delta holds the engine thread until `release` is set: with max_running
  // 1, what is submitted meanwhile waits. Returns once the engine is held.
  struct Held {
    std::promise<void> release;
    std::future<GenerationResult> done;
  };
  static std::unique_ptr<Held> HoldEngine(LlmEngine& e, int max_tokens) {
    auto held = std::make_unique<Held>();
    std::shared_future<void> go = held->release.get_future().share();
    auto holding = std::make_shared<std::promise<void>>();
    std::future<void> holds = holding->get_future();
    auto once = std::make_shared<std::once_flag>();
    GenerationRequest first = Request("Hold the engine here", max_tokens);
    first.on_delta = [go, once, holding](const std::string&, auto) {
      std::call_once(*once, [&] { holding->set_value(); });
      go.wait();
      return true;
    };
    held->done = Run(e, first);
    EXPECT_EQ(holds.wait_for(std::chrono::seconds(60)), std::future_status::ready);
    return held;
  }
};

// Choices of one prompt: each equals the same request submitted alone (its seed, its log-
// probabilities), the prompt runs once, and everything is freed; a choice that finishes at its
// first token (max_tokens 1) beside longer ones is answered too.
TEST_F(LlmEngineTest, ChoicesShareTheirPromptAndEachEqualsItsOwnRun) {
  auto e = Engine();
  const GenerationRequest base = Request("Once upon a time there was", 20, 0.9, 40);
  std::vector<GenerationResult> alone;
  for (int i = 0; i < 4; ++i) {
    GenerationRequest r = base;
    r.seed = 40 + i;
    r.logprobs = 1;
    r.max_tokens = i == 3 ? 1 : 20;
    auto f = Run(*e, r);
    alone.push_back(Await(f));
  }
  EXPECT_NE(alone[0].text, alone[1].text);
  const int64_t before = e->stats().prompt_tokens_run;
  std::vector<GenerationRequest> choices;
  std::vector<std::function<void(GenerationResult)>> dones;
  std::vector<std::future<GenerationResult>> futures;
  for (int i = 0; i < 4; ++i) {
    GenerationRequest r = base;
    r.seed = 40 + i;
    r.logprobs = 1;
    r.max_tokens = i == 3 ? 1 : 20;
    choices.push_back(r);
    auto p = std::make_shared<std::promise<GenerationResult>>();
    futures.push_back(p->get_future());
    dones.push_back([p](GenerationResult res) { p->set_value(std::move(res)); });
  }
  ASSERT_TRUE(e->SubmitChoices(std::move(choices), std::move(dones)).ok());
  for (int i = 0; i < 4; ++i) {
    const GenerationResult r = Await(futures[i]);
    EXPECT_EQ(r.text, alone[i].text) << "choice " << i;
    EXPECT_EQ(r.completion_tokens, alone[i].completion_tokens) << "choice " << i;
    ASSERT_EQ(r.logprobs.size(), alone[i].logprobs.size());
    for (size_t t = 0; t < r.logprobs.size(); ++t)
      EXPECT_NEAR(r.logprobs[t].logprob, alone[i].logprobs[t].logprob, 1e-4) << i << " " << t;
  }
  EXPECT_EQ(e->stats().prompt_tokens_run - before, static_cast<int64_t>(base.prompt.size()));
  EXPECT_EQ(e->stats().running, 0);
  EXPECT_EQ(e->stats().kv_reserved_bytes, 0);
  // All or nothing: choices whose caches together exceed the budget are refused.
  EngineOptions small;
  small.kv_budget_bytes = e->kv_budget_bytes() / 64;
  auto tight = Engine(small);
  const int64_t per = static_cast<int64_t>(base.prompt.size() + base.max_tokens) *
                      tight->model().kv_bytes_per_token();
  const int fit = static_cast<int>(small.kv_budget_bytes / per);
  ASSERT_GE(fit, 1);
  std::vector<GenerationRequest> too_many(static_cast<size_t>(fit + 1), base);
  std::vector<std::function<void(GenerationResult)>> ignored(too_many.size(),
                                                             [](GenerationResult) {});
  EXPECT_EQ(tight->SubmitChoices(too_many, ignored).code(), StatusCode::kInvalidArgument);
}

TEST_F(LlmEngineTest, ContinuousBatchingGivesTheSameTextsAsOneAtATime) {
  const std::vector<std::pair<std::string, int>> work = {
      {"Hello", 12}, {"The quick brown fox", 5}, {"a", 20}, {"xyz", 1}};
  EngineOptions serial;
  serial.max_running = 1;
  auto one = Engine(serial);
  auto many = Engine();
  std::vector<std::future<GenerationResult>> a, b;
  for (const auto& [p, n] : work) a.push_back(Run(*one, Request(p, n)));
  for (const auto& [p, n] : work) b.push_back(Run(*many, Request(p, n)));
  for (size_t i = 0; i < work.size(); ++i) {
    GenerationResult ra = Await(a[i]), rb = Await(b[i]);
    ASSERT_TRUE(ra.status.ok() && rb.status.ok());
    EXPECT_EQ(ra.text, rb.text) << "request " << i;
    EXPECT_EQ(ra.completion_tokens, rb.completion_tokens);
    EXPECT_EQ(rb.prompt_tokens, static_cast<int>(work[i].first.size()) + 1);
    if (rb.finish_reason == "length") {
      EXPECT_EQ(rb.completion_tokens, work[i].second);
    }
  }
  EXPECT_EQ(many->stats().kv_reserved_bytes, 0);  // everything freed
}

TEST_F(LlmEngineTest, StreamedDeltasConcatenateToTheTextAndSeedsReproduce) {
  auto e = Engine();
  std::string streamed;
  GenerationRequest r = Request("Once upon a time", 40, /*temperature=*/0.9, /*seed=*/7);
  r.logprobs = 2;
  std::vector<TokenLogprob> streamed_lps;
  r.on_delta = [&](const std::string& d, std::span<const TokenLogprob> lps) {
    streamed += d;
    EXPECT_FALSE(d.empty());
    streamed_lps.insert(streamed_lps.end(), lps.begin(), lps.end());
    return true;
  };
  auto f1 = Run(*e, r);
  GenerationResult r1 = Await(f1);
  EXPECT_EQ(streamed, r1.text);
  // The deltas carried every token's entry in order; those held back at the end stay in the
  // result past the delivered ones.
  ASSERT_EQ(r1.logprobs.size(), static_cast<size_t>(r1.completion_tokens));
  ASSERT_LE(streamed_lps.size(), r1.logprobs.size());
  EXPECT_GT(streamed_lps.size(), 0u);
  for (size_t i = 0; i < streamed_lps.size(); ++i) {
    EXPECT_EQ(streamed_lps[i].token, r1.logprobs[i].token) << i;
    EXPECT_EQ(streamed_lps[i].logprob, r1.logprobs[i].logprob) << i;
    EXPECT_EQ(streamed_lps[i].top.size(), 2u);
  }
  r.on_delta = nullptr;
  r.logprobs = -1;
  auto f2 = Run(*e, r);
  EXPECT_EQ(Await(f2).text, r1.text);  // same seed, same text
  r.seed = 8;
  auto f3 = Run(*e, r);
  EXPECT_NE(Await(f3).text, r1.text);
}

TEST_F(LlmEngineTest, StopStringsEndGenerationBeforeTheStopAndAreNeverStreamed) {
  auto e = Engine();
  auto f = Run(*e, Request("Hello", 30));
  const GenerationResult full = Await(f);
  ASSERT_GE(full.text.size(), 8u) << "greedy output too short to pick a stop string";
  const std::string stop = full.text.substr(5, 3);
  GenerationRequest r = Request("Hello", 30);
  r.stop = {stop};
  std::string streamed;
  r.on_delta = [&](const std::string& d, auto) {
    streamed += d;
    return true;
  };
  auto g = Run(*e, r);
  const GenerationResult cut = Await(g);
  EXPECT_EQ(cut.finish_reason, "stop");
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(stop)));
  EXPECT_EQ(streamed, cut.text);
}

TEST_F(LlmEngineTest, CancellationFreesTheSequence) {
  auto e = Engine();
  int deltas = 0;
  GenerationRequest r = Request("Hello", 100);
  r.on_delta = [&](const std::string&, auto) { return ++deltas < 3; };
  auto f = Run(*e, r);
  GenerationResult res = Await(f);
  EXPECT_EQ(res.finish_reason, "cancelled");
  EXPECT_LT(res.completion_tokens, 100);
  EXPECT_EQ(e->stats().kv_reserved_bytes, 0);
  EXPECT_EQ(e->stats().running, 0);
}

// A request still waiting when its client's deadline passes ends with DeadlineExceeded and never
// runs (its prompt is not prefilled); the one queued beside it without a deadline is served.
TEST_F(LlmEngineTest, AWaitingRequestPastItsDeadlineEndsUnrun) {
  EngineOptions one;
  one.max_running = 1;  // the others wait while the first runs
  auto e = Engine(one);
  const auto hold = HoldEngine(*e, 4);
  GenerationRequest late = Request(std::string(30, 'z'), 4);  // 31 prompt tokens (BOS)
  late.deadline = std::chrono::steady_clock::now();           // passed by the time it could run
  auto f1 = Run(*e, late);
  auto f2 = Run(*e, Request("on time", 4));
  EXPECT_EQ(e->stats().waiting, 2);
  const int64_t run_before = e->stats().prompt_tokens_run;
  hold->release.set_value();
  const GenerationResult r1 = Await(f1);
  EXPECT_EQ(r1.status.code(), StatusCode::kDeadlineExceeded) << r1.status.ToString();
  EXPECT_EQ(r1.completion_tokens, 0);
  EXPECT_EQ(r1.finish_reason, "error");
  const GenerationResult r2 = Await(f2);
  ASSERT_TRUE(r2.status.ok()) << r2.status.ToString();
  EXPECT_EQ(r2.completion_tokens, 4);
  ASSERT_TRUE(Await(hold->done).status.ok());
  const EngineStats after = e->stats();
  EXPECT_EQ(after.prompt_tokens_run - run_before,
            8);  // "on time" and its BOS: the late one never ran
  EXPECT_EQ(after.waiting, 0);
  EXPECT_EQ(after.waiting_prompt_tokens, 0);
  EXPECT_EQ(after.kv_reserved_bytes, 0);
}

// A waiting request whose client has gone (GenerationRequest::still_wanted, a stream's closed
// connection) ends with Cancelled and never runs; the one beside it, whose client stays, is served.
TEST_F(LlmEngineTest, AWaitingRequestWhoseClientWentAwayEndsUnrun) {
  EngineOptions one;
  one.max_running = 1;  // the others wait while the first runs
  auto e = Engine(one);
  const auto hold = HoldEngine(*e, 4);
  auto asked = std::make_shared<std::atomic<int>>(0);
  GenerationRequest gone = Request(std::string(30, 'z'), 4);  // 31 prompt tokens (BOS)
  gone.still_wanted = [asked] {
    ++*asked;
    return false;
  };
  GenerationRequest stays = Request("still here", 4);
  stays.still_wanted = [] { return true; };
  auto f1 = Run(*e, gone);
  auto f2 = Run(*e, stays);
  EXPECT_EQ(e->stats().waiting, 2);
  const int64_t run_before = e->stats().prompt_tokens_run;
  hold->release.set_value();
  const GenerationResult r1 = Await(f1);
  EXPECT_EQ(r1.status.code(), StatusCode::kCancelled) << r1.status.ToString();
  EXPECT_EQ(r1.completion_tokens, 0);
  EXPECT_EQ(r1.finish_reason, "error");
  EXPECT_GE(asked->load(), 1);
  const GenerationResult r2 = Await(f2);
  ASSERT_TRUE(r2.status.ok()) << r2.status.ToString();
  EXPECT_EQ(r2.completion_tokens, 4);
  ASSERT_TRUE(Await(hold->done).status.ok());
  const EngineStats after = e->stats();
  EXPECT_EQ(after.prompt_tokens_run - run_before, 11);  // "still here" and its BOS only
  EXPECT_EQ(after.waiting, 0);
  EXPECT_EQ(after.waiting_prompt_tokens, 0);
}

TEST_F(LlmEngineTest, StatsCountQueuedPromptTokensAndLearnStepCosts) {
  EngineOptions one;
  one.max_running = 1;  // the others wait while the first runs
  auto e = Engine(one);
  EXPECT_EQ(e->stats().prefill_ms_per_token, 0);  // nothing measured yet
  // The first request holds the engine thread (that request running) until the others are queued.
  const auto hold = HoldEngine(*e, 8);
  auto f1 = Run(*e, Request(std::string(40, 'x'), 4));  // 41 prompt tokens (BOS)
  auto f2 = Run(*e, Request(std::string(23, 'y'), 4));  // 24
  const EngineStats held = e->stats();
  EXPECT_EQ(held.waiting_prompt_tokens, 41 + 24);
  EXPECT_EQ(held.waiting, 2);
  hold->release.set_value();
  for (auto* f : {&hold->done, &f1, &f2}) ASSERT_TRUE(Await(*f).status.ok());
  const EngineStats after = e->stats();
  EXPECT_EQ(after.waiting_prompt_tokens, 0);
  EXPECT_GT(after.prefill_ms_per_token, 0);  // from the 21-, 41- and 24-token prefills
  EXPECT_GT(after.decode_step_ms, 0);
}

TEST_F(LlmEngineTest, ACpuQuotaStretchesEveryStep) {
  // The emulated slower device pauses t * (1 / quota - 1) after a step that computed for t: at
  // a quarter, a step takes at least 4x its compute. Compared with a full-speed engine over the
  // same generation (mean step cost), allowing the host's noise a factor of 2.
  auto fast = Engine();
  auto slow = Engine();
  slow->set_cpu_quota(0.25);
  for (auto* e : {fast.get(), slow.get()}) {
    auto f = Run(*e, Request(std::string(30, 'z'), 24));
    ASSERT_TRUE(Await(f).status.ok());
  }
  EXPECT_GT(slow->stats().decode_step_ms, 2 * fast->stats().decode_step_ms);
}

TEST_F(LlmEngineTest, AdmissionLimitsAndShutdown) {
  EngineOptions tight;
  // Room for exactly one sequence of 6 + 20 tokens: the others must wait, not fail.
  std::unique_ptr<LlmEngine> probe = Engine();
  tight.kv_budget_bytes = 26 * probe->model().kv_bytes_per_token();
  tight.max_waiting = 3;
  probe.reset();
  auto e = Engine(tight);
  GenerationRequest too_long = Request("Hello", 300);
  Status s = e->Submit(too_long, [](GenerationResult) {});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("context of 256 tokens"), std::string::npos) << s.message();
  s = e->Submit(Request("Hello", 40), [](GenerationResult) {});
  EXPECT_NE(s.message().find("MB of KV cache"), std::string::npos) << s.message();
  EXPECT_EQ(e->Submit(Request("", 0), [](GenerationResult) {}).code(),
            StatusCode::kInvalidArgument);

  std::vector<std::future<GenerationResult>> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(Run(*e, Request("Hello", 20)));
  // The queue bound (3 waiting) may be hit while those wait; either way nothing accepted is lost.
  std::vector<std::future<GenerationResult>> extra;
  int rejected = 0;
  for (int i = 0; i < 5; ++i) {
    auto p = std::make_shared<std::promise<GenerationResult>>();
    auto f = p->get_future();
    Status st =
        e->Submit(Request("Hello", 20), [p](GenerationResult r) { p->set_value(std::move(r)); });
    if (st.ok())
      extra.push_back(std::move(f));
    else {
      EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
      ++rejected;
    }
  }
  e->Shutdown();  // every accepted request completes
  for (auto& f : fs) EXPECT_TRUE(Await(f).status.ok());
  for (auto& f : extra) EXPECT_TRUE(Await(f).status.ok());
  EXPECT_EQ(e->Submit(Request("Hello", 2), [](GenerationResult) {}).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(e->stats().kv_reserved_bytes, 0);
}

// A descriptor's `llm: {weights: q8_0}` reaches the model: the engine holds less and still serves.
TEST_F(LlmEngineTest, ADescriptorsQ8_0WeightsAreLoadedQuantized) {
  ModelDescriptor d;
  ASSERT_TRUE(LoadModelDescriptor((*dir_ / "llama-demo" / "model.yaml").string(), &d).ok());
  std::unique_ptr<LlmEngine> f32, q8;
  ASSERT_TRUE(CreateEngineFromDescriptor(d, &f32).ok());
  d.llm.weights = "q8_0";
  ASSERT_TRUE(CreateEngineFromDescriptor(d, &q8).ok());
  EXPECT_LT(q8->model().weight_bytes(), f32->model().weight_bytes() * 7 / 10);
  GenerationRequest req = Request("Hello", 6);
  req.ignore_eos = true;  // exactly 6 tokens whatever the untrained model samples
  auto f = Run(*q8, std::move(req));
  const GenerationResult r = Await(f);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.completion_tokens, 6);
}

// A model folder holding model.yaml and a GGUF file (no config.json) is served by the same
// factory: weights, tokenizer and chat template come from the file.
TEST_F(LlmEngineTest, AGgufFolderIsServedThroughTheSameFactory) {
  namespace fs = std::filesystem;
  const fs::path folder = *dir_ / "llama-demo-gguf";
  fs::create_directories(folder);
  std::ofstream(folder / "model.yaml") << "name: llama-demo-gguf\ntask: llm\n"
                                          "artifacts: [model.gguf]\n";
  GgufExportOptions o;
  o.matrices = formats::GgmlType::kQ8_0;
  ASSERT_TRUE(
      ExportLlamaGguf((*dir_ / "llama-demo").string(), (folder / "model.gguf").string(), o).ok());
  ModelDescriptor d;
  const Status ds = LoadModelDescriptor((folder / "model.yaml").string(), &d);
  ASSERT_TRUE(ds.ok()) << ds.ToString();
  std::unique_ptr<LlmEngine> e;
  const Status s = CreateEngineFromDescriptor(d, &e);
  ASSERT_TRUE(s.ok()) << s.ToString();
  GenerationRequest req = Request("Hello", 5);
  req.ignore_eos = true;
  auto f = Run(*e, std::move(req));
  const GenerationResult r = Await(f);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.completion_tokens, 5);
  EXPECT_EQ(r.prompt_tokens, 6);  // BOS + 5 bytes, from the file's byte vocabulary
}

TEST(StepPlannerTest, AdmitsInOrderWithinMemoryTokenAndCountLimits) {
  PlannerLimits l;
  l.kv_bytes_per_token = 10;
  l.kv_budget_bytes = 1000;
  l.token_budget = 50;
  l.max_running = 4;
  // 3 decoding with 300 bytes reserved; waiting: 20+10 (300 B), 25+5 (300 B), 1+1.
  StepPlan p = PlanStep(3, 300, {{20, 10}, {25, 5}, {1, 1}}, l);
  EXPECT_EQ(p.admit, 1);  // max_running: 3 + 1
  EXPECT_EQ(p.prefill_chunk, std::vector<int>{20});
  l.max_running = 8;
  p = PlanStep(3, 300, {{20, 10}, {25, 5}, {1, 1}}, l);
  EXPECT_EQ(p.admit, 3);  // 47 budget tokens: 20, then 25 (2 left), then 1
  EXPECT_EQ(p.prefill_chunk, (std::vector<int>{20, 25, 1}));
  p = PlanStep(0, 900, {{20, 10}}, l);
  EXPECT_EQ(p.admit, 0);  // memory
  p = PlanStep(8, 0, {{1, 1}}, l);
  EXPECT_EQ(p.admit, 0);  // count
  // Choices sharing a prompt: memory and count for every copy, the prompt's tokens once.
  p = PlanStep(3, 300, {{20, 10, 2}, {1, 1}}, l);
  EXPECT_EQ(p.admit, 2);  // 600 B and 2 sequences, then 20 B and 1
  EXPECT_EQ(p.prefill_chunk, (std::vector<int>{20, 1}));
  p = PlanStep(3, 300, {{20, 10, 3}}, l);
  EXPECT_EQ(p.admit, 0);  // 900 B do not fit beside 300
  p = PlanStep(6, 0, {{1, 1, 3}}, l);
  EXPECT_EQ(p.admit, 0);  // 6 + 3 sequences exceed max_running 8
  p = PlanStep(6, 0, {{1, 1, 2}}, l);
  EXPECT_EQ(p.admit, 1);
}

// Chunked prefill: a prompt longer than the step's budget runs in chunks, beside the decoding
// sequences; running prompts get their next chunk before anyone new is admitted; FCFS holds.
TEST(StepPlannerTest, LongPromptsRunInChunksBesideTheDecodingSequences) {
  PlannerLimits l;
  l.kv_bytes_per_token = 1;
  l.kv_budget_bytes = 10000;
  l.token_budget = 50;
  l.max_running = 16;
  StepPlan p = PlanStep(0, 0, {{80, 1}, {10, 1}}, l);
  EXPECT_EQ(p.admit, 1);  // the first chunk of 50 takes the whole budget
  EXPECT_EQ(p.prefill_chunk, std::vector<int>{50});
  // 8 decoding + the 80-token prompt with 30 left: its chunk is 30, then the next prompt's 10.
  p = PlanStep(9, 0, {{10, 1}}, l, {30});
  EXPECT_EQ(p.running_chunk, std::vector<int>{30});
  EXPECT_EQ(p.admit, 1);
  EXPECT_EQ(p.prefill_chunk, std::vector<int>{10});
  // 8 decoding + two prompts with 40 and 30 left: 42 budget tokens, 40 then 2.
  p = PlanStep(10, 0, {{5, 1}}, l, {40, 30});
  EXPECT_EQ(p.running_chunk, (std::vector<int>{40, 2}));
  EXPECT_EQ(p.admit, 0);  // nothing left for a newcomer
  // More decoders than budget: prompts still move, one token per step.
  l.token_budget = 4;
  p = PlanStep(9, 0, {}, l, {7});
  EXPECT_EQ(p.running_chunk, std::vector<int>{1});
}

// SLO-sized steps: the prompt share of a step is what fits in the streams' time per token.
TEST(StepPlannerTest, TpotSloSizesTheStepsPromptShare) {
  // 8 decoding, a decode step of 4 ms, 0.5 ms per prompt token, SLO 20 ms: (20 - 4) / 0.5 = 32.
  EXPECT_EQ(TpotTokenBudget(2048, 8, 20.0, 4.0, 0.5), 8 + 32);
  EXPECT_EQ(TpotTokenBudget(30, 8, 20.0, 4.0, 0.5), 30);                 // never above the budget
  EXPECT_EQ(TpotTokenBudget(2048, 8, 5.0, 4.0, 0.5), 8 + kMinSloChunk);  // prompts still move
  EXPECT_EQ(TpotTokenBudget(2048, 0, 20.0, 4.0, 0.5), 2048);  // nobody decodes: no SLO to keep
  EXPECT_EQ(TpotTokenBudget(2048, 8, 0.0, 4.0, 0.5), 2048);   // off
  EXPECT_EQ(TpotTokenBudget(2048, 8, 20.0, 0.0, 0.0), 2048);  // costs not known yet
}

// A long prompt arriving while 8 streams decode is prefilled in chunks: no step runs more than the
// token budget (a whole-prompt step would be ~10x the budget and stall every stream for its
// duration), and every text is what it is when run alone.
TEST(StepPlannerTest, PipelineGroupsShareABurstEvenly) {
  EXPECT_EQ(GroupRunningLimit(64, 1, 0, 16), 64);  // no pipeline: the engine's own limit
  EXPECT_EQ(GroupRunningLimit(64, 2, 0, 16), 8);   // 16 at once over 2 groups: 8 each
  EXPECT_EQ(GroupRunningLimit(64, 2, 8, 8), 8);    // the second group takes the other 8
  EXPECT_EQ(GroupRunningLimit(64, 3, 0, 16), 6);   // rounded up
  EXPECT_EQ(GroupRunningLimit(64, 2, 0, 1), 1);    // one sequence still runs
  EXPECT_EQ(GroupRunningLimit(6, 2, 0, 100), 3);   // never above the group's share
  // What the planner makes of it: the first group admits half of a burst of 16.
  PlannerLimits limits;
  limits.kv_budget_bytes = 1 << 30;
  limits.kv_bytes_per_token = 1;
  limits.max_running = GroupRunningLimit(64, 2, 0, 16);
  const std::vector<WaitingSeq> burst(16, WaitingSeq{8, 8, 1});
  EXPECT_EQ(PlanStep(0, 0, burst, limits).admit, 8);
}

TEST_F(LlmEngineTest, ALongPromptIsPrefilledInChunksWhileStreamsDecode) {
  EngineOptions o;
  o.token_budget = 24;
  o.max_running = 16;
  auto e = Engine(o);
  auto solo = Engine();
  std::vector<std::future<GenerationResult>> streams, alone;
  std::vector<std::shared_ptr<std::promise<void>>> started;
  for (int i = 0; i < 8; ++i) {
    GenerationRequest r = Request("stream " + std::to_string(i), 40);
    r.ignore_eos = true;
    auto first = std::make_shared<std::promise<void>>();
    started.push_back(first);
    r.on_delta = [first, seen = std::make_shared<bool>(false)](const std::string&, auto) {
      if (!*seen) first->set_value();
      *seen = true;
      return true;
    };
    streams.push_back(Run(*e, r));
    r.on_delta = nullptr;
    alone.push_back(Run(*solo, r));
  }
  for (auto& s : started)  // every stream is decoding
    ASSERT_EQ(s->get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  std::string text;
  for (int i = 0; i < 10; ++i) text += "a long prompt, chunked. ";  // 241 tokens with BOS
  GenerationRequest longr = Request(text, 4);
  longr.ignore_eos = true;
  auto long_f = Run(*e, longr);
  auto long_alone = Run(*solo, longr);
  const GenerationResult lr = Await(long_f);
  ASSERT_TRUE(lr.status.ok()) << lr.status.ToString();
  EXPECT_GT(lr.prompt_tokens, 9 * o.token_budget);
  EXPECT_EQ(lr.text, Await(long_alone).text);
  for (size_t i = 0; i < streams.size(); ++i) {
    const GenerationResult r = Await(streams[i]);
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.completion_tokens, 40);
    EXPECT_EQ(r.text, Await(alone[i]).text) << i;
  }
  EXPECT_LE(e->stats().max_step_tokens, o.token_budget);
  EXPECT_GT(e->stats().max_step_tokens, 8);  // prompt chunks did run beside the decodes
  EXPECT_EQ(e->stats().waiting_prompt_tokens, 0);
}

#if EPARA_HAVE_ONIG
// The demo model with its byte tokenizer rewritten as a Hugging Face tokenizer.json (byte-level
// BPE without merges: byte b is id 3 + b, <s> and </s> added tokens, BOS from the template) must
// prompt and generate exactly as with epara_tokenizer.json.
TEST_F(LlmEngineTest, ATokenizerJsonWithTheSameVocabularyGivesTheSameText) {
  const fs::path hf = *dir_ / "llama-demo-hf";
  fs::create_directories(hf);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(*dir_ / "llama-demo" / f, hf / f, fs::copy_options::overwrite_existing);
  std::string vocab;
  for (int b = 0; b < 256; ++b) {
    // ByteLevelChar is UTF-8 without quotes or backslashes but for '"' and '\\' themselves.
    std::string ch = ByteLevelChar(static_cast<unsigned char>(b));
    if (ch == "\"" || ch == "\\") ch = "\\" + ch;
    vocab += (b ? ", \"" : "\"") + ch + "\": " + std::to_string(ByteTokenizer::kOffset + b);
  }
  std::ofstream(hf / "tokenizer.json")
      << R"({"model": {"type": "BPE", "vocab": {)" << vocab << R"(}, "merges": []},
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "added_tokens": [{"id": 0, "content": "<pad>", "special": true},
                   {"id": 1, "content": "<s>", "special": true},
                   {"id": 2, "content": "</s>", "special": true}],
  "post_processor": {"type": "TemplateProcessing",
                     "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                {"Sequence": {"id": "A", "type_id": 0}}]}})";
  std::ofstream(hf / "tokenizer_config.json") << R"({"eos_token": "</s>"})";

  std::unique_ptr<Tokenizer> bytes, bpe;
  ASSERT_TRUE(LoadTokenizer((*dir_ / "llama-demo").string(), &bytes).ok());
  const Status loaded = LoadTokenizer(hf.string(), &bpe);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  const std::string prompt = "The quick \"brown\" fox\\ 123\n";
  ASSERT_EQ(PromptIds(*bpe, prompt), PromptIds(*bytes, prompt));
  EXPECT_EQ(bpe->eos_id(), ByteTokenizer::kEos);

  std::string texts[2];
  int i = 0;
  for (const fs::path& d : {*dir_ / "llama-demo", hf}) {
    std::unique_ptr<LlamaModel> m;
    std::unique_ptr<Tokenizer> t;
    ASSERT_TRUE(LlamaModel::Load(d.string(), {"cpu", 1}, &m).ok());
    ASSERT_TRUE(LoadTokenizer(d.string(), &t).ok());
    GenerationRequest r;
    r.prompt = PromptIds(*t, prompt);
    r.max_tokens = 16;
    r.ignore_eos = true;
    std::unique_ptr<LlmEngine> e;
    ASSERT_TRUE(LlmEngine::Create(std::move(m), std::move(t), {}, &e).ok());
    auto f = Run(*e, r);
    const GenerationResult res = Await(f);
    ASSERT_TRUE(res.status.ok()) << res.status.ToString();
    EXPECT_EQ(res.completion_tokens, 16);
    texts[i++] = res.text;
  }
  EXPECT_FALSE(texts[0].empty());
  EXPECT_EQ(texts[1], texts[0]);
}
#endif

}  // namespace
}  // namespace epara::llm
