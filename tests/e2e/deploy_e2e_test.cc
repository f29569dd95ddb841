// Adaptive deployment (issue 6): while clients send a steady stream to every node, a service
// moves between nodes 20 times (`epara deploy --move`: load, warm up, ready, visible everywhere,
// then stop advertising, grace, drain, unload). Every response is counted: none may fail or be
// lost.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "client_load.h"
#include "llm_stream.h"
#include "server_process.h"
#include "up_fixture.h"

namespace epara {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* kInferBody =
    R"({"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},)"
    R"({"name":"b","shape":[1,4],"datatype":"INT64","data":[1,1,1,1]},)"
    R"({"name":"c","shape":[1,4],"datatype":"UINT8","data":[0,0,0,2]}]})";

TEST_F(UpE2ETest, AServiceMovedTwentyTimesUnderLoadLosesNoRequest) {
  std::ofstream(root_ / "move.yaml") << "models: repo\nnodes:\n"
                                        "  - {id: a, class: edge-server, serve: [tensor-demo], "
                                        "cpu_threads: 1}\n"
                                        "  - {id: b, class: edge-server, serve: [seg-demo], "
                                        "cpu_threads: 1}\n"
                                        "  - {id: c, class: edge-server, serve: [seg-demo], "
                                        "cpu_threads: 1}\n";
  testing::ChildProcess up;
  const json ep = StartUp("move", &up);
  ASSERT_TRUE(ep.is_object());
  std::map<std::string, int> port;
  for (const auto& n : ep["nodes"]) port[n["id"]] = n["api_port"];
  const testing::SendFn infer = [](httplib::Client& c) {
    return c.Post("/v2/models/tensor-demo/infer", kInferBody, "application/json");
  };
  // Until every node routes tensor-demo (b and c hold a's record and digest).
  for (const char* id : {"a", "b", "c"})
    ASSERT_EQ(testing::SendUntilAnswered(port[id], infer, testing::Answered200), "") << id;

  // Clients: one per node, each a steady stream of requests until told to stop.
  testing::ClientLoad load({{"a", port["a"]}, {"b", port["b"]}, {"c", port["c"]}}, infer,
                           testing::Answered200, 30);
  std::string from = "a", to = "b";
  for (int move = 0; move < 20; ++move) {
    load.SetPhase("move " + std::to_string(move));
    const int before = load.ok();
    std::string out;
    const int rc = testing::RunEpara(
        {"deploy", "--node", "127.0.0.1:" + std::to_string(port["c"]), "--move",
         "tensor-demo:" + from + ":" + to, "--grace-ms", "300", "--token-file", token_file_},
        &out, std::chrono::seconds(120));
    ASSERT_EQ(rc, 0) << "move " << move << ": " << out;
    EXPECT_NE(out.find("load   tensor-demo      " + to), std::string::npos) << out;
    EXPECT_NE(out.find("unload tensor-demo      " + from), std::string::npos) << out;
    // Requests kept flowing through the move (bounded wait for the next ones).
    EXPECT_TRUE(load.AwaitMore("", before, 10, std::chrono::seconds(10))) << "move " << move;
    std::swap(from, to);
  }
  load.Stop();
  EXPECT_EQ(load.FailureSummary(), "");
  EXPECT_GT(load.ok(), 200);
  EXPECT_GT(load.ServedBy("a"), 0);
  EXPECT_GT(load.ServedBy("b"), 0);
  EXPECT_EQ(load.ServedBy("c"), 0);  // c never held it
  // After 20 moves the instance is back on a, and b holds none.
  httplib::Client c("127.0.0.1", port["c"]);
  c.set_bearer_token_auth(credential_);
  auto view = c.Get("/v1/cluster");
  ASSERT_TRUE(view);
  const json cluster_view = json::parse(view->body);
  for (const auto& n : cluster_view["nodes"]) {
    bool has = false;
    for (const auto& i : n["instances"]) has = has || i["model"] == "tensor-demo";
    EXPECT_EQ(has, n["id"] == "a") << n.dump();
  }
  EXPECT_EQ(up.Stop(std::chrono::seconds(60)), 0) << up.Log();
}

// Issue 24's run-time mode change for LLMs: llama-demo moves between two nodes six times while
// clients stream chat completions through all three. Greedy decoding makes every answer the same
// text: each stream must carry exactly that, `max_tokens` tokens, and [DONE]. None may fail.
TEST_F(UpE2ETest, AnLlmMovedUnderStreamingLoadLosesNoStream) {
  std::ofstream(root_ / "llm-move.yaml") << "models: repo\nnodes:\n"
                                            "  - {id: a, class: edge-server, serve: [llama-demo], "
                                            "cpu_threads: 1}\n"
                                            "  - {id: b, class: edge-server, serve: [tensor-demo], "
                                            "cpu_threads: 1}\n"
                                            "  - {id: c, class: edge-server, serve: [tensor-demo], "
                                            "cpu_threads: 1}\n";
  testing::ChildProcess up;
  const json ep = StartUp("llm-move", &up);
  ASSERT_TRUE(ep.is_object());
  std::map<std::string, int> port;
  for (const auto& n : ep["nodes"]) port[n["id"]] = n["api_port"];
  constexpr int kTokens = 96;  // streams longer than the grace period: some are cut into
  const std::string body = json{{"model", "llama-demo"},
                                {"messages", {{{"role", "user"}, {"content", "move me"}}}},
                                {"max_tokens", kTokens},
                                {"temperature", 0},
                                {"ignore_eos", true},
                                {"stream", true},
                                {"stream_options", {{"include_usage", true}}}}
                               .dump();
  // A stream's verdict: empty when it carried its whole answer (greedy: the reference text).
  std::string reference;
  const auto check = [&](const httplib::Result& r) {
    std::string text;
    std::string why = testing::CheckCompletionStream(r, kTokens, false, &text);
    if (why.empty() && reference.empty()) reference = text;
    if (why.empty() && text != reference) why = "a different answer: '" + text + "'";
    return why;
  };
  const testing::SendFn chat = [&](httplib::Client& c) {
    return c.Post("/v1/chat/completions", body, "application/json");
  };
  // Until every node routes llama-demo (b and c hold a's record and digest).
  for (const char* id : {"a", "b", "c"})
    ASSERT_EQ(testing::SendUntilAnswered(port[id], chat, check), "") << "node " << id;

  testing::ClientLoad load({{"a", port["a"]},
                            {"b", port["b"]},
                            {"c", port["c"]},  // two streams
                            {"a", port["a"]},
                            {"b", port["b"]},
                            {"c", port["c"]}},  // per node
                           chat, check);
  std::string from = "a", to = "b";
  int drained = 0;  // streams in flight on the old host that its unloads waited for
  for (int move = 0; move < 6; ++move) {
    load.SetPhase("move " + std::to_string(move));
    const int before = load.ok();
    std::string out;
    const int rc = testing::RunEpara(
        {"deploy", "--node", "127.0.0.1:" + std::to_string(port["c"]), "--move",
         "llama-demo:" + from + ":" + to, "--grace-ms", "100", "--token-file", token_file_},
        &out, std::chrono::seconds(120));
    ASSERT_EQ(rc, 0) << "move " << move << ": " << out;
    EXPECT_NE(out.find("load   llama-demo       " + to), std::string::npos) << out;
    EXPECT_NE(out.find("unload llama-demo       " + from), std::string::npos) << out;
    if (const size_t at = out.find("ms  ("); at != std::string::npos)
      drained += std::atoi(out.c_str() + at + 5);
    else
      ADD_FAILURE() << "the unload does not say what it drained: " << out;
    // Streams kept flowing through the move (bounded wait for the next ones).
    EXPECT_TRUE(load.AwaitMore("", before, 6, std::chrono::seconds(30))) << "move " << move;
    std::swap(from, to);
  }
  load.Stop();
  EXPECT_EQ(load.FailureSummary(), "");
  EXPECT_GT(load.ok(), 36);
  // The unloads really cut into streams: some were in flight on the old host and ran to their end.
  EXPECT_GT(drained, 0);
  RecordProperty("streams_answered", load.ok());
  RecordProperty("streams_drained_by_unloads", drained);
  EXPECT_GT(load.ServedBy("a"), 0);
  EXPECT_GT(load.ServedBy("b"), 0);
  EXPECT_EQ(load.ServedBy("c"), 0);  // c never held it
  // After six moves the LLM is back on a, and b holds none.
  httplib::Client c("127.0.0.1", port["c"]);
  c.set_bearer_token_auth(credential_);
  auto view = c.Get("/v1/cluster");
  ASSERT_TRUE(view);
  const json llm_view = json::parse(view->body);
  for (const auto& n : llm_view["nodes"]) {
    bool has = false;
    for (const auto& i : n["instances"]) has = has || i["model"] == "llama-demo";
    EXPECT_EQ(has, n["id"] == "a") << n.dump();
  }
  EXPECT_EQ(up.Stop(std::chrono::seconds(60)), 0) << up.Log();
}

}  // namespace
}  // namespace epara
