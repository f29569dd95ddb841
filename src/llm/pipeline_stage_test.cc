// Pipeline parallelism inside one process: an LlmEngine head whose StageLink runs the later
// stages' StageSessions on a thread of its own (the gRPC link is tested across processes in
// tests/e2e/cluster_e2e_test.cc).
#include "llm/pipeline_stage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <thread>

#include "llm/llm_engine.h"
#include "llm/tiny_llm_testing.h"

namespace epara::llm {
namespace {

namespace fs = std::filesystem;

// Runs each step through `stages` in order on its own thread, answering in order. Break() makes
// it fail every pending and later step with Unavailable, as a dead stage's connection does.
class ThreadStageLink final : public StageLink {
 public:
  explicit ThreadStageLink(std::vector<std::unique_ptr<LlamaModel>> stages)
      : stages_(std::move(stages)), mus_(stages_.size()) {
    for (size_t i = 0; i < stages_.size(); ++i)
      sessions_.push_back(std::make_unique<StageSession>(stages_[i].get(), &mus_[i], 1 << 20));
    worker_ = std::thread([this] { Work(); });
  }
  ~ThreadStageLink() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  void Send(StageStep step, std::function<void(StageResult)> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.emplace_back(std::move(step), std::move(done));
      ++sent_;
    }
    cv_.notify_all();
  }
  void Break() {
    std::lock_guard<std::mutex> lock(mu_);
    broken_ = true;
  }
  // Blocks until `n` steps were sent (bounded).
  bool AwaitSent(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return sent_ >= n; });
  }
  int max_session_sequences() const { return max_sequences_; }

 private:
  void Work() {
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto [step, done] = std::move(queue_.front());
      queue_.pop_front();
      const bool broken = broken_;
      lock.unlock();
      StageResult r;
      r.step_id = step.step_id;
      if (broken) {
        r.status = Unavailable("pipeline stage 1 closed the connection");
      } else {
        std::vector<float> out;
        for (auto& session : sessions_) {
          r.status = session->Run(step, &out);
          if (!r.status.ok()) break;
          max_sequences_ = std::max(max_sequences_, session->sequences());
          step.hidden.swap(out);
          step.release.clear();
        }
        r.logits = std::move(step.hidden);
      }
      done(std::move(r));
    }
  }
  std::vector<std::unique_ptr<LlamaModel>> stages_;
  std::vector<std::mutex> mus_;
  std::vector<std::unique_ptr<StageSession>> sessions_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<StageStep, std::function<void(StageResult)>>> queue_;
  bool stopping_ = false, broken_ = false;
  int sent_ = 0;
  int max_sequences_ = 0;
  std::thread worker_;
};

class PipelineTest : public TinyLlmTest<5> {
 protected:
  static std::unique_ptr<LlamaModel> Model(int first, int end) {
    LlamaLoadOptions o{"cpu", 1};
    o.first_layer = first;
    o.end_layer = end;
    std::unique_ptr<LlamaModel> m;
    Status s = LlamaModel::Load((*dir_ / "llama-demo").string(), o, &m);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return m;
  }
  static std::unique_ptr<LlmEngine> Engine(std::unique_ptr<LlamaModel> m) {
    std::unique_ptr<Tokenizer> t;
    EXPECT_TRUE(LoadTokenizer((*dir_ / "llama-demo").string(), &t).ok());
    std::unique_ptr<LlmEngine> e;
    EXPECT_TRUE(LlmEngine::Create(std::move(m), std::move(t), {}, &e).ok());
    return e;
  }
  static GenerationRequest Request(const std::string& prompt, int max_tokens) {
    GenerationRequest r;
    r.prompt = {ByteTokenizer::kBos};
    for (int32_t id : ByteTokenizer().Encode(prompt)) r.prompt.push_back(id);
    r.max_tokens = max_tokens;
    r.ignore_eos = true;
    return r;
  }
  // Runs every prompt at once (greedy) and returns the results in order.
  static std::vector<GenerationResult> RunAll(LlmEngine& e,
                                              const std::vector<std::string>& prompts) {
    std::vector<std::future<GenerationResult>> fs;
    for (size_t i = 0; i < prompts.size(); ++i) {
      auto p = std::make_shared<std::promise<GenerationResult>>();
      fs.push_back(p->get_future());
      Status s = e.Submit(Request(prompts[i], 6 + 3 * static_cast<int>(i)),
                          [p](GenerationResult r) { p->set_value(std::move(r)); });
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    std::vector<GenerationResult> out;
    for (auto& f : fs) {
      EXPECT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready);
      out.push_back(f.get());
    }
    return out;
  }
};

TEST_F(PipelineTest, TwoAndThreeStagePipelinesGenerateTheSingleModelsTokens) {
  const std::vector<std::string> prompts = {"Hello", "The quick brown fox", "a", "pipeline", "xyz"};
  auto whole = Engine(Model(0, 0));
  const std::vector<GenerationResult> ref = RunAll(*whole, prompts);
  struct Case {
    std::vector<std::pair<int, int>> ranges;  // [first, end) per stage; 0 = the last layer
    int depth;
  };
  for (const Case& c :
       {Case{{{0, 2}, {2, 0}}, 2}, Case{{{0, 1}, {1, 4}, {4, 0}}, 3}, Case{{{0, 3}, {3, 0}}, 1}}) {
    std::vector<std::unique_ptr<LlamaModel>> later;
    for (size_t i = 1; i < c.ranges.size(); ++i)
      later.push_back(Model(c.ranges[i].first, c.ranges[i].second));
    auto head = Engine(Model(c.ranges[0].first, c.ranges[0].second));
    auto* link = new ThreadStageLink(std::move(later));
    head->AttachPipeline(std::unique_ptr<StageLink>(link), c.depth);
    const std::vector<GenerationResult> got = RunAll(*head, prompts);
    for (size_t i = 0; i < prompts.size(); ++i) {
      ASSERT_TRUE(got[i].status.ok()) << got[i].status.ToString();
      EXPECT_EQ(got[i].text, ref[i].text) << c.ranges.size() << " stages, prompt " << i;
      EXPECT_EQ(got[i].completion_tokens, ref[i].completion_tokens);
      EXPECT_EQ(got[i].finish_reason, "length");
    }
    // Several sequences were in flight, and the stages freed the finished ones' caches.
    EXPECT_GE(link->max_session_sequences(), 2);
    // The head learned its whole step (stages and link included), as routing predicts from it.
    EXPECT_GT(head->stats().decode_step_ms, 0) << c.ranges.size() << " stages";
    EXPECT_GT(head->stats().prefill_ms_per_token, 0) << c.ranges.size() << " stages";
  }
}

TEST_F(PipelineTest, ABrokenStageConnectionFailsTheRequestWithTheReason) {
  auto head = Engine(Model(0, 2));
  std::vector<std::unique_ptr<LlamaModel>> later;
  later.push_back(Model(2, 0));
  auto* link = new ThreadStageLink(std::move(later));
  head->AttachPipeline(std::unique_ptr<StageLink>(link), 2);
  auto p = std::make_shared<std::promise<GenerationResult>>();
  auto f = p->get_future();
  ASSERT_TRUE(
      head->Submit(Request("Hello", 200), [p](GenerationResult r) { p->set_value(std::move(r)); })
          .ok());
  ASSERT_TRUE(link->AwaitSent(3));  // generating
  link->Break();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const GenerationResult r = f.get();
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status.message().find("pipeline stage 1 closed the connection"), std::string::npos)
      << r.status.ToString();
  EXPECT_EQ(r.finish_reason, "error");
  EXPECT_LT(r.completion_tokens, 200);
  EXPECT_EQ(head->stats().running, 0);
  EXPECT_EQ(head->stats().kv_reserved_bytes, 0);
}

TEST_F(PipelineTest, AHeadWithoutItsStagesRefusesRequests) {
  auto head = Engine(Model(0, 2));
  Status s = head->Submit(Request("Hello", 4), [](GenerationResult) {});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("first 2 layers of a pipeline"), std::string::npos) << s.message();
}

TEST(StageSessionTest, ChecksPositionsAndBudgetAndFreesReleasedSequences) {
  // Without a model: every check here happens before the model runs.
  std::mutex mu;
  StageSession session(nullptr, &mu, 100);
  StageStep step;
  step.seqs.push_back({7, 3, 64, {1}});
  Status s = session.Run(step, nullptr);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("sequence 7 is unknown at this stage"), std::string::npos)
      << s.message();
  step.seqs = {{8, 0, 64, {1, 2}}, {9, 0, 64, {3}}};
  s = session.Run(step, nullptr);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("holds 100 tokens"), std::string::npos) << s.message();
  step.seqs = {{8, 0, 1, {1, 2}}};
  EXPECT_EQ(session.Run(step, nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(session.sequences(), 0);
  EXPECT_EQ(session.reserved_tokens(), 0);
}

}  // namespace
}  // namespace epara::llm
