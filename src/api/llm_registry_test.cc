#include "api/llm_registry.h"

#include <gtest/gtest.h>

#include <future>

#include "llm/llama_model.h"
#include "llm/tiny_llm_testing.h"
#include "llm/tokenizer.h"

namespace epara::api {
namespace {

class LlmRegistryTest : public llm::TinyLlmTest<2> {
 protected:
  static std::unique_ptr<llm::LlmEngine> Engine() {
    std::unique_ptr<llm::LlamaModel> m;
    std::unique_ptr<llm::Tokenizer> t;
    const std::string d = (*dir_ / "llama-demo").string();
    EXPECT_TRUE(llm::LlamaModel::Load(d, {"cpu", 1}, &m).ok());
    EXPECT_TRUE(llm::LoadTokenizer(d, &t).ok());
    std::unique_ptr<llm::LlmEngine> e;
    EXPECT_TRUE(llm::LlmEngine::Create(std::move(m), std::move(t), {}, &e).ok());
    return e;
  }
  static llm::GenerationRequest Request(int max_tokens) {
    llm::GenerationRequest r;
    r.prompt = {llm::ByteTokenizer::kBos, 'h', 'i'};
    r.max_tokens = max_tokens;
    return r;
  }
  metrics::Registry metrics_;
};

// Ready -> draining -> gone: what is listed (advertised), what is served, and a name that comes
// back keeps its metric series.
TEST_F(LlmRegistryTest, DrainingStopsListingButKeepsServing) {
  LlmRegistry r(&metrics_);
  ASSERT_TRUE(r.Add("m", Engine(), 300, 50).ok());
  EXPECT_EQ(r.Add("m", Engine(), 300, 50).code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(r.List().size(), 1u);
  EXPECT_EQ(r.List()[0].ttft_slo_ms, 300);
  const metrics::LlmMetrics* series = r.Metrics("m");
  ASSERT_NE(series, nullptr);

  ASSERT_TRUE(r.Drain("m").ok());
  EXPECT_TRUE(r.List().empty());  // not advertised any more
  ASSERT_EQ(r.List(true).size(), 1u);
  EXPECT_EQ(r.List(true)[0].state, LlmRegistry::State::kDraining);
  EXPECT_TRUE(r.Has("m"));
  EXPECT_TRUE(static_cast<bool>(r.Use("m")));  // still served

  ASSERT_TRUE(r.Remove("m").ok());
  EXPECT_FALSE(r.Has("m"));
  EXPECT_FALSE(r.Get("m").has_value());
  Status why;
  EXPECT_FALSE(static_cast<bool>(r.Use("m", true, &why)));
  EXPECT_EQ(why.code(), StatusCode::kNotFound);
  EXPECT_EQ(r.Remove("m").code(), StatusCode::kNotFound);
  EXPECT_EQ(r.Drain("m").code(), StatusCode::kNotFound);

  ASSERT_TRUE(r.Add("m", Engine(), 300, 50).ok());  // back again: the same series
  EXPECT_EQ(r.Metrics("m"), series);
  EXPECT_EQ(r.Metrics("other"), nullptr);
}

// Remove waits for the request that holds the engine, which runs to its full answer; meanwhile new
// requests are refused, except a forward admitted before the unload began.
TEST_F(LlmRegistryTest, RemoveWaitsForTheRequestsInFlightWhichGetTheirFullAnswers) {
  LlmRegistry r(&metrics_);
  ASSERT_TRUE(r.Add("m", Engine(), 0, 0).ok());
  LlmUse held = r.Use("m");
  ASSERT_TRUE(static_cast<bool>(held));
  auto done = std::make_shared<std::promise<llm::GenerationResult>>();
  auto result = done->get_future();
  ASSERT_TRUE(
      held->Submit(Request(40), [done](llm::GenerationResult g) { done->set_value(std::move(g)); })
          .ok());

  auto removed = std::async(std::launch::async, [&] { return r.Remove("m"); });
  // Until the unload has begun (bounded poll of the state it publishes).
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       r.Has("m") && std::chrono::steady_clock::now() < until;)
    std::this_thread::yield();
  ASSERT_FALSE(r.Has("m"));
  ASSERT_EQ(r.Get("m")->state, LlmRegistry::State::kUnloading);
  Status why;
  EXPECT_FALSE(static_cast<bool>(r.Use("m", false, &why)));
  EXPECT_EQ(why.code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.Remove("m").code(), StatusCode::kFailedPrecondition);
  {
    LlmUse admitted = r.Use("m", true);  // a forward admitted before the unload
    EXPECT_TRUE(static_cast<bool>(admitted));
  }
  // The held request keeps the engine: Remove cannot have finished.
  EXPECT_EQ(removed.wait_for(std::chrono::seconds(0)), std::future_status::timeout);

  ASSERT_EQ(result.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const llm::GenerationResult g = result.get();
  EXPECT_TRUE(g.status.ok()) << g.status.ToString();
  EXPECT_TRUE(g.finish_reason == "length" ? g.completion_tokens == 40 : g.finish_reason == "stop")
      << g.finish_reason << " after " << g.completion_tokens;
  EXPECT_EQ(removed.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  held = LlmUse();  // the answer is written: the request lets go
  ASSERT_EQ(removed.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_TRUE(removed.get().ok());
  EXPECT_FALSE(r.Get("m").has_value());
}

}  // namespace
}  // namespace epara::api
