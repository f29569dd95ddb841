// Pipeline parallelism across node processes (issue 5): an LLM's layers split over 2 and 3 nodes
// by `epara up`, hidden states streamed between the stages over gRPC, generate the same tokens as
// the whole model on one node; a stage that dies mid-request ends the request with the reason.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "client_load.h"
#include "llm_stream.h"
#include "server_process.h"
#include "up_fixture.h"

namespace epara {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

class PipelineE2ETest : public UpE2ETest {
 protected:
  // `name`: a second name for the demo LLM (its files linked, not copied).
  void AliasDemoLlm(const std::string& name) {
    const fs::path src = root_ / "repo" / "llama-demo", dst = root_ / "repo" / name;
    fs::create_directories(dst);
    for (const auto& e : fs::directory_iterator(src))
      if (e.path().filename() != "model.yaml")
        fs::create_symlink(e.path(), dst / e.path().filename());
    std::string yaml = testing::ReadTextFile((src / "model.yaml").string());
    yaml.replace(yaml.find("name: llama-demo"), 16, "name: " + name);
    std::ofstream(dst / "model.yaml") << yaml;
  }
  // Waits (bounded) until the node at `port` sees `n` live nodes.
  bool AwaitMembers(int port, size_t n) const {
    httplib::Client c("127.0.0.1", port);
    c.set_bearer_token_auth(credential_);
    for (auto until = Clock::now() + std::chrono::seconds(30); Clock::now() < until;) {
      auto r = c.Get("/v1/cluster");
      const json v = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
      if (v.is_object() && v["nodes"].size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling state, bounded
    }
    return false;
  }
  static httplib::Result Complete(int port, const std::string& model, const std::string& prompt,
                                  int max_tokens) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120, 0);
    json body = {{"model", model},
                 {"prompt", prompt},
                 {"max_tokens", max_tokens},
                 {"temperature", 0},
                 {"ignore_eos", true}};
    return c.Post("/v1/completions", body.dump(), "application/json");
  }
};

TEST_F(PipelineE2ETest, TwoAndThreeStagePipelinesGenerateTheSingleNodesTokens) {
  AliasDemoLlm("llama-pp2");
  AliasDemoLlm("llama-whole");
  // llama-demo: a -> b -> c (3 stages); llama-pp2: b -> c (2 stages); llama-whole on a alone.
  std::ofstream(root_ / "pp.yaml")
      << "models: repo\nnodes:\n"
         "  - {id: a, class: edge-server, serve: [llama-whole], cpu_threads: 1}\n"
         "  - {id: b, class: edge-server, serve: [tensor-demo], cpu_threads: 1}\n"
         "  - {id: c, class: edge-server, serve: [tensor-demo], cpu_threads: 1}\n"
         "pipelines:\n"
         "  llama-demo: {stages: [a, b, c]}\n"
         "  llama-pp2: {stages: [b, c], layers: [5, 3]}\n";
  testing::ChildProcess up;
  const json ep = StartUp("pp", &up);
  ASSERT_TRUE(ep.is_object());
  std::map<std::string, int> port;
  for (const auto& n : ep["nodes"]) port[n["id"]] = n["api_port"];
  ASSERT_TRUE(AwaitMembers(port["a"], 3) && AwaitMembers(port["b"], 3));
  const std::string log = testing::ReadTextFile((root_ / "pp-up.log").string());
  EXPECT_NE(log.find("pipeline llama-demo: a [0, 3) -> b [3, 6) -> c [6, 8), depth 3"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("pipeline llama-pp2: b [0, 5) -> c [5, 8), depth 2"), std::string::npos);

  // Until every entry node routes both models (each holds the heads' digests).
  for (const auto& [model, at] : std::vector<std::pair<std::string, std::string>>{
           {"llama-demo", "a"}, {"llama-demo", "c"}, {"llama-pp2", "b"}, {"llama-pp2", "a"}}) {
    bool routed = false;
    for (auto until = Clock::now() + std::chrono::seconds(30); !routed && Clock::now() < until;) {
      auto r = Complete(port[at], model, "warm", 1);
      routed = r && r->status == 200;
      if (!routed) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // bounded
    }
    ASSERT_TRUE(routed) << model << " at " << at;
  }
  const std::vector<std::string> prompts = {"Hello", "The pipeline runs", "x", "edge cloud"};
  for (const std::string& p : prompts) {
    auto whole = Complete(port["a"], "llama-whole", p, 20);
    ASSERT_TRUE(whole);
    ASSERT_EQ(whole->status, 200) << whole->body;
    const json ref = json::parse(whole->body)["choices"][0];
    // Every prompt through both pipelines, asked at once so that micro-batches overlap, and
    // entered at a node that is not the head (forwarded to it).
    std::vector<std::future<httplib::Result>> runs;
    for (const auto& [model, at] : std::vector<std::pair<std::string, std::string>>{
             {"llama-demo", "a"}, {"llama-demo", "c"}, {"llama-pp2", "b"}, {"llama-pp2", "a"}})
      runs.push_back(std::async(std::launch::async, [&, model = model, at = at] {
        return Complete(port[at], model, p, 20);
      }));
    for (auto& f : runs) {
      auto r = f.get();
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      const json got = json::parse(r->body);
      EXPECT_EQ(got["choices"][0]["text"], ref["text"]) << got["model"] << " on '" << p << "'";
      EXPECT_EQ(got["usage"]["completion_tokens"], 20);
    }
  }
  // The stages hold no model API of their own.
  httplib::Client b("127.0.0.1", port["b"]);
  auto models = b.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_NE(models->body.find("llama-pp2"), std::string::npos);
  EXPECT_EQ(up.Stop(std::chrono::seconds(60)), 0) << up.Log();
}

TEST_F(PipelineE2ETest, AStageDyingMidRequestEndsTheRequestWithTheReason) {
  std::ofstream(root_ / "die.yaml") << "models: repo\nnodes:\n"
                                       "  - {id: a, class: edge-server, serve: [llama-demo], "
                                       "cpu_threads: 1}\n"
                                       "  - {id: b, class: edge-server, serve: [tensor-demo], "
                                       "cpu_threads: 1}\n"
                                       "  - {id: c, class: edge-server, serve: [tensor-demo], "
                                       "cpu_threads: 1}\n"
                                       "pipelines:\n  llama-demo: {stages: [a, b, c]}\n";
  testing::ChildProcess up;
  const json ep = StartUp("die", &up);
  ASSERT_TRUE(ep.is_object());
  std::map<std::string, int> port;
  std::map<std::string, pid_t> pid;
  for (const auto& n : ep["nodes"]) {
    port[n["id"]] = n["api_port"];
    pid[n["id"]] = n["pid"];
  }
  ASSERT_TRUE(AwaitMembers(port["a"], 3));
  auto ok = Complete(port["a"], "llama-demo", "warm", 4);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;

  // A long stream; once tokens flow, the middle stage's process is killed.
  httplib::Client a("127.0.0.1", port["a"]);
  a.set_read_timeout(60, 0);
  json body = {{"model", "llama-demo"}, {"prompt", "Hello"}, {"max_tokens", 1500},
               {"ignore_eos", true},    {"stream", true},    {"temperature", 0}};
  std::string stream;
  std::atomic<bool> killed{false};
  const auto started = Clock::now();
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    stream.append(data, n);
    if (!killed.exchange(true)) kill(pid["b"], SIGKILL);
    return true;
  };
  auto res = a.send(req);
  ASSERT_TRUE(res) << "the stream did not end: " << httplib::to_string(res.error());
  EXPECT_TRUE(killed);
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(30));  // an error, not a hang
  EXPECT_NE(stream.find("\"type\":\"unavailable\""), std::string::npos) << stream;
  EXPECT_NE(stream.find("pipeline stage b"), std::string::npos) << stream;
  EXPECT_LT(std::count(stream.begin(), stream.end(), '\n'), 2 * 1500);  // it did not run to the end
  EXPECT_NE(stream.rfind("data: [DONE]"), std::string::npos);

  // The head keeps serving: a new request gets a clear 503 naming the missing stage.
  auto after = Complete(port["a"], "llama-demo", "again", 4);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 503) << after->body;
  EXPECT_NE(after->body.find("pipeline stage b"), std::string::npos) << after->body;
  httplib::Client c("127.0.0.1", port["a"]);
  auto health = c.Get("/v2/health/live");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  (void)up.Stop(std::chrono::seconds(60));  // a node died: epara up may report it
}

// Issue 24's run-time pipeline: while clients stream through all three nodes, llama-demo goes from
// whole on a to a pipeline b [0, 4) -> c [4, 8) (the stage, then the head, then a's unload) and
// back (a's load, then the head's unload, then the stage's), twice. Greedy decoding makes every
// answer the same text in either mode: each stream must carry exactly that, to the end.
TEST_F(PipelineE2ETest, APipelineBuiltAndTornDownUnderStreamingLoadLosesNoStream) {
  std::ofstream(root_ / "pp-live.yaml")
      << "models: repo\nnodes:\n"
         "  - {id: a, class: edge-server, serve: [llama-demo], cpu_threads: 1}\n"
         "  - {id: b, class: edge-server, serve: [tensor-demo], cpu_threads: 1}\n"
         "  - {id: c, class: edge-server, serve: [tensor-demo], cpu_threads: 1}\n";
  testing::ChildProcess up;
  const json ep = StartUp("pp-live", &up);
  ASSERT_TRUE(ep.is_object());
  std::map<std::string, int> port;
  for (const auto& n : ep["nodes"]) port[n["id"]] = n["api_port"];
  ASSERT_TRUE(AwaitMembers(port["a"], 3) && AwaitMembers(port["b"], 3) &&
              AwaitMembers(port["c"], 3));
  constexpr int kTokens = 64;  // longer than the grace period: unloads cut into streams
  const std::string body = json{{"model", "llama-demo"},
                                {"prompt", "pipelines at run time"},
                                {"max_tokens", kTokens},
                                {"temperature", 0},
                                {"ignore_eos", true},
                                {"stream", true},
                                {"stream_options", {{"include_usage", true}}}}
                               .dump();
  const testing::SendFn complete = [&](httplib::Client& c) {
    return c.Post("/v1/completions", body, "application/json");
  };
  // A stream's verdict: empty when it carried its whole answer (greedy: the reference text).
  std::string reference;
  const testing::VerdictFn check = [&](const httplib::Result& r) {
    std::string text;
    std::string why = testing::CheckCompletionStream(r, kTokens, false, &text);
    if (why.empty() && reference.empty()) reference = text;
    if (why.empty() && text != reference) why = "a different answer: '" + text + "'";
    return why;
  };
  // The answer, and until every node routes the model.
  for (const char* id : {"a", "b", "c"})
    ASSERT_EQ(testing::SendUntilAnswered(port[id], complete, check), "") << "node " << id;

  testing::ClientLoad load({{"a", port["a"]},
                            {"b", port["b"]},
                            {"c", port["c"]},
                            {"a", port["a"]},
                            {"b", port["b"]},
                            {"c", port["c"]}},
                           complete, check);

  httplib::Client admin_a("127.0.0.1", port["a"]), admin_b("127.0.0.1", port["b"]),
      admin_c("127.0.0.1", port["c"]);
  for (httplib::Client* c : {&admin_a, &admin_b, &admin_c}) {
    c->set_bearer_token_auth(credential_);
    c->set_read_timeout(120, 0);
  }
  const auto post = [&](httplib::Client& c, const std::string& path, const json& body) {
    auto r = c.Post(path, body.is_null() ? "" : body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200) << path << ": " << (r ? r->body : "no response");
    return r && r->status == 200 ? json::parse(r->body) : json();
  };
  // Until every node sees llama-demo ready on `node` (its record, and its digest: what routing
  // reads), bounded.
  const auto visible = [&](const std::string& node) {
    for (const char* id : {"a", "b", "c"}) {
      httplib::Client c("127.0.0.1", port[id]);
      c.set_bearer_token_auth(credential_);
      bool seen = false;
      for (auto until = Clock::now() + std::chrono::seconds(30); !seen && Clock::now() < until;) {
        auto r = c.Get("/v1/cluster");
        const json v = r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
        if (v.is_object())
          for (const auto& n : v["nodes"]) {
            if (n["id"] != node) continue;
            bool listed = false, ready = n["self"].get<bool>();
            for (const auto& i : n["instances"]) listed = listed || i["model"] == "llama-demo";
            if (n.contains("digest"))  // a peer's digest says it is ready there (routable)
              for (const auto& i : n["digest"]["instances"])
                ready = ready || (i["model"] == "llama-demo" && i["ready"].get<bool>());
            seen = listed && ready;
          }
        if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // bounded
      }
      EXPECT_TRUE(seen) << id << " does not see llama-demo on " << node;
    }
  };
  // Until `n` more streams were answered by `node`, bounded.
  const auto flowing = [&](const std::string& node, int n) {
    EXPECT_TRUE(load.AwaitMore(node, load.ServedBy(node), n, std::chrono::seconds(60)))
        << "no streams through " << node;
  };
  const std::string internal = "/v1/internal/";
  int drained = 0;
  for (int cycle = 0; cycle < 2; ++cycle) {
    // Build: the later stage, the head, then the whole model goes.
    load.SetPhase("cycle " + std::to_string(cycle) + ": build");
    json r = post(admin_c, internal + "pipelines/llama-demo/load",
                  json{{"first_layer", 4}, {"end_layer", 8}});
    EXPECT_EQ(r.value("role", ""), "stage");
    r = post(admin_b, internal + "pipelines/llama-demo/load",
             json{{"first_layer", 0}, {"end_layer", 4}, {"next", "c"}, {"depth", 2}});
    EXPECT_EQ(r.value("role", ""), "head");
    visible("b");
    load.SetPhase("cycle " + std::to_string(cycle) + ": whole unloaded");
    r = post(admin_a, internal + "instances/llama-demo/unload?grace_ms=100", json());
    drained += r.value("drained_requests", 0);
    flowing("b", 6);  // the pipeline serves every node's clients now
    // Tear down: the whole model back, the head, then the stage go.
    load.SetPhase("cycle " + std::to_string(cycle) + ": tear down");
    post(admin_a, internal + "instances/llama-demo/load", json());
    visible("a");
    load.SetPhase("cycle " + std::to_string(cycle) + ": head and stage unloaded");
    r = post(admin_b, internal + "pipelines/llama-demo/unload?grace_ms=100", json());
    EXPECT_EQ(r.value("role", ""), "head");
    drained += r.value("drained_requests", 0);
    r = post(admin_c, internal + "pipelines/llama-demo/unload", json());
    EXPECT_EQ(r.value("role", ""), "stage");
    flowing("a", 6);
  }
  load.Stop();
  EXPECT_EQ(load.FailureSummary(), "");
  EXPECT_GT(drained, 0);  // unloads waited for streams in flight, which ended in full
  EXPECT_GT(load.ServedBy("b"), 0);
  EXPECT_EQ(load.ServedBy("c"), 0);  // c only ever held a stage
  RecordProperty("streams_answered", load.ok());
  RecordProperty("streams_drained_by_unloads", drained);
  // Bad requests get clear errors, and a node never holds a model twice.
  auto bad = admin_b.Post(internal + "pipelines/llama-demo/load", R"({"first_layer": 0})",
                          "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  bad = admin_a.Post(internal + "pipelines/llama-demo/load",
                     json{{"first_layer", 0}, {"end_layer", 4}, {"next", "c"}}.dump(),
                     "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 409) << bad->body;  // a runs it whole
  bad = admin_c.Post(internal + "pipelines/llama-demo/unload", "", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 404) << bad->body;
  EXPECT_EQ(up.Stop(std::chrono::seconds(60)), 0) << up.Log();
}

}  // namespace
}  // namespace epara
