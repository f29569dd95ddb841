// Black-box tests of the OpenAI-compatible API: the real `epara serve` with the demo LLM.
#include <gtest/gtest.h>

#include <httplib.h>
#include <unistd.h>
#include <cmath>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "server_process.h"

namespace epara {
namespace {

namespace fs = std::filesystem;
using testing::MetricValue;
using json = nlohmann::json;

// A choice's logprobs object as (token text, logprob) pairs, in either endpoint's shape.
void AppendLogprobs(const json& lp, bool chat, std::vector<std::pair<std::string, double>>* out) {
  if (chat)
    for (const json& t : lp["content"]) out->emplace_back(t["token"], t["logprob"]);
  else
    for (size_t i = 0; i < lp["tokens"].size(); ++i)
      out->emplace_back(lp["tokens"][i], lp["token_logprobs"][i]);
}

// Concatenates the text of an SSE stream's chunks; fails unless it ends with [DONE]. With
// `logprobs`: the chunks' log-probability entries in order, as (token text, logprob) pairs.
std::string JoinStream(const std::string& body, bool chat, std::string* finish_reason,
                       std::vector<std::pair<std::string, double>>* logprobs = nullptr) {
  std::string text;
  std::istringstream in(body);
  std::string line;
  bool done = false;
  while (std::getline(in, line)) {
    if (line.rfind("data: ", 0) != 0) continue;
    const std::string data = line.substr(6);
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    json e = json::parse(data);
    if (e["choices"].empty()) continue;
    const json& c = e["choices"][0];
    if (chat && c["delta"].contains("content")) text += c["delta"]["content"].get<std::string>();
    if (!chat) text += c["text"].get<std::string>();
    if (!c["finish_reason"].is_null()) *finish_reason = c["finish_reason"].get<std::string>();
    if (logprobs && c.contains("logprobs") && !c["logprobs"].is_null())
      AppendLogprobs(c["logprobs"], chat, logprobs);
  }
  EXPECT_TRUE(done) << "stream did not end with data: [DONE]";
  return text;
}

class OpenAiE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() / ("epara_oai_" + std::to_string(getpid())));
    fs::create_directories(*root_ / "repo");
    std::string out;
    if (testing::RunEpara({"models", "demo", (*root_ / "repo").string()}, &out) != 0) {
      setup_error_ = "epara models demo failed: " + out;
      return;
    }
    server_ = new testing::ServerProcess();
    if (!server_->Start({"--models", (*root_ / "repo").string()}, root_->string(), &setup_error_)) {
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Log();
    }
    delete server_;
    std::error_code ec;
    fs::remove_all(*root_, ec);
    delete root_;
  }
  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << "suite setup failed: " << setup_error_;
  }
  static httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(120, 0);
    return c;
  }
  static httplib::Result Post(const std::string& path, const json& body) {
    return Client().Post(path, body.dump(), "application/json");
  }
  static void ExpectError(const httplib::Result& r, int status, const std::string& message) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    json j = json::parse(r->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r->body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(message), std::string::npos) << r->body;
  }
  static fs::path* root_;
  static testing::ServerProcess* server_;
  static std::string setup_error_;
};
fs::path* OpenAiE2ETest::root_ = nullptr;
testing::ServerProcess* OpenAiE2ETest::server_ = nullptr;
std::string OpenAiE2ETest::setup_error_;

TEST_F(OpenAiE2ETest, ModelsAndACompletionWithUsage) {
  auto models = Client().Get("/v1/models");
  ASSERT_EQ(models->status, 200);
  EXPECT_NE(models->body.find("\"llama-demo\""), std::string::npos);
  auto r =
      Post("/v1/completions",
           {{"model", "llama-demo"}, {"prompt", "Hello"}, {"max_tokens", 7}, {"temperature", 0}});
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 6);  // BOS + 5 bytes
  const int completion = j["usage"]["completion_tokens"];
  EXPECT_GE(completion, 1);
  EXPECT_LE(completion, 7);
  EXPECT_EQ(j["usage"]["total_tokens"], 6 + completion);
  const std::string reason = j["choices"][0]["finish_reason"];
  EXPECT_TRUE(reason == "length" || reason == "stop") << reason;
  if (reason == "length") {
    EXPECT_EQ(completion, 7);
  }
}

TEST_F(OpenAiE2ETest, StreamedDeltasEqualTheNonStreamedTextForTheSameSeed) {
  for (bool chat : {false, true}) {
    json body = {{"model", "llama-demo"}, {"max_tokens", 24}, {"temperature", 0.9}, {"seed", 1234}};
    if (chat)
      body["messages"] = {{{"role", "system"}, {"content", "Be brief."}},
                          {{"role", "user"}, {"content", "Hi!"}}};
    else
      body["prompt"] = "Once upon a time";
    const std::string path = chat ? "/v1/chat/completions" : "/v1/completions";
    auto plain = Post(path, body);
    ASSERT_EQ(plain->status, 200) << plain->body;
    json pj = json::parse(plain->body);
    const std::string expected = chat ? pj["choices"][0]["message"]["content"].get<std::string>()
                                      : pj["choices"][0]["text"].get<std::string>();
    body["stream"] = true;
    auto streamed = Post(path, body);
    ASSERT_EQ(streamed->status, 200);
    EXPECT_EQ(streamed->get_header_value("Content-Type"), "text/event-stream");
    std::string finish;
    EXPECT_EQ(JoinStream(streamed->body, chat, &finish), expected)
        << (chat ? "chat" : "completions");
    EXPECT_EQ(finish, pj["choices"][0]["finish_reason"].get<std::string>());
    // Log-probabilities streamed: each chunk carries its tokens' entries; all of them, in order,
    // are the non-streamed response's.
    body["stream"] = false;
    if (chat) {
      body["logprobs"] = true;
      body["top_logprobs"] = 2;
    } else {
      body["logprobs"] = 2;
    }
    auto plain_lp = Post(path, body);
    ASSERT_EQ(plain_lp->status, 200) << plain_lp->body;
    const json lp = json::parse(plain_lp->body)["choices"][0]["logprobs"];
    std::vector<std::pair<std::string, double>> want, got;
    AppendLogprobs(lp, chat, &want);
    body["stream"] = true;
    auto streamed_lp = Post(path, body);
    ASSERT_EQ(streamed_lp->status, 200);
    EXPECT_EQ(JoinStream(streamed_lp->body, chat, &finish, &got), expected);
    EXPECT_EQ(want.size(),
              static_cast<size_t>(json::parse(plain_lp->body)["usage"]["completion_tokens"]));
    EXPECT_EQ(got, want) << (chat ? "chat" : "completions");
  }
}

// "n": several choices, each sampled as a single request with seed + its index would be; usage
// counts the prompt once and every choice's completion; streamed, each chunk names its choice.
TEST_F(OpenAiE2ETest, SeveralChoicesAreSeededPerIndexAndStreamPerIndex) {
  for (bool chat : {false, true}) {
    json body = {{"model", "llama-demo"}, {"max_tokens", 12}, {"temperature", 0.9}, {"seed", 77}};
    if (chat)
      body["messages"] = {{{"role", "user"}, {"content", "Hi!"}}};
    else
      body["prompt"] = "Once upon a time";
    const std::string path = chat ? "/v1/chat/completions" : "/v1/completions";
    const auto text_of = [chat](const json& choice) {
      return chat ? choice["message"]["content"].get<std::string>()
                  : choice["text"].get<std::string>();
    };
    std::vector<std::string> single;
    int completion = 0, prompt = 0;
    for (int i = 0; i < 3; ++i) {
      json one = body;
      one["seed"] = 77 + i;
      auto r = Post(path, one);
      ASSERT_EQ(r->status, 200) << r->body;
      const json j = json::parse(r->body);
      single.push_back(text_of(j["choices"][0]));
      completion += j["usage"]["completion_tokens"].get<int>();
      prompt = j["usage"]["prompt_tokens"];
    }
    EXPECT_NE(single[0], single[1]);  // the seeds differ, so (almost surely) the samples do
    body["n"] = 3;
    auto r = Post(path, body);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    ASSERT_EQ(j["choices"].size(), 3u);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(j["choices"][i]["index"], i);
      EXPECT_EQ(text_of(j["choices"][i]), single[i]) << "choice " << i;
    }
    EXPECT_EQ(j["usage"]["prompt_tokens"], prompt);
    EXPECT_EQ(j["usage"]["completion_tokens"], completion);
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
    auto streamed = Post(path, body);
    ASSERT_EQ(streamed->status, 200);
    std::vector<std::string> texts(3);
    std::vector<int> finishes(3, 0);
    std::istringstream in(streamed->body);
    std::string line;
    json usage;
    while (std::getline(in, line)) {
      if (line.rfind("data: {", 0) != 0) continue;
      const json e = json::parse(line.substr(6));
      if (e.contains("usage")) usage = e["usage"];
      if (e["choices"].empty()) continue;
      const json& c = e["choices"][0];
      const int i = c["index"];
      ASSERT_TRUE(i >= 0 && i < 3) << line;
      if (chat && c["delta"].contains("content"))
        texts[i] += c["delta"]["content"].get<std::string>();
      if (!chat) texts[i] += c["text"].get<std::string>();
      if (!c["finish_reason"].is_null()) ++finishes[i];
    }
    EXPECT_EQ(texts, single) << (chat ? "chat" : "completions");
    EXPECT_EQ(finishes, std::vector<int>(3, 1));
    EXPECT_EQ(usage["completion_tokens"], completion);
  }
}

TEST_F(OpenAiE2ETest, BadParametersGetOpenAiStyleErrors) {
  const json base = {{"model", "llama-demo"}, {"prompt", "x"}};
  auto with = [&](const char* k, const json& v) {
    json b = base;
    b[k] = v;
    return b;
  };
  ExpectError(Post("/v1/completions", with("max_tokens", -1)), 400,
              "'max_tokens' must be at least 1");
  ExpectError(Post("/v1/completions", with("max_tokens", "ten")), 400,
              "'max_tokens' must be an integer");
  ExpectError(Post("/v1/completions", with("temperature", 5)), 400,
              "'temperature' must be in [0, 2]");
  ExpectError(Post("/v1/completions", with("stop", json::array({1}))), 400, "'stop'");
  ExpectError(Post("/v1/completions", with("n", 0)), 400, "'n' must be an integer from 1 to 16");
  ExpectError(Post("/v1/completions", with("n", 17)), 400, "'n' must be an integer from 1 to 16");
  ExpectError(Post("/v1/completions", with("stream", "yes")), 400, "'stream' must be a boolean");
  ExpectError(Post("/v1/completions", with("max_tokens", 5000)), 400,
              "exceeds the model's context");
  ExpectError(Post("/v1/completions", with("model", "nope")), 404, "model 'nope' not found");
  ExpectError(Post("/v1/completions", with("model", "seg-demo")), 404, "not an LLM");
  ExpectError(Post("/v1/chat/completions", {{"model", "llama-demo"}}), 400,
              "'messages' must be a non-empty array");
  ExpectError(Post("/v1/chat/completions", {{"model", "llama-demo"},
                                            {"messages", {{{"role", "robot"}, {"content", "x"}}}}}),
              400, "unknown role 'robot'");
  ExpectError(Client().Post("/v1/completions", "{broken", "application/json"), 400,
              "not a JSON object");
  // Fields epara does not implement are named, never ignored; neutral values pass.
  ExpectError(Post("/v1/completions", with("logprobs", 21)), 400,
              "'logprobs' must be an integer from 0 to 20");
  json echo_lp = with("echo", true);
  echo_lp["logprobs"] = 1;
  ExpectError(Post("/v1/completions", echo_lp), 400, "'echo' with 'logprobs'");
  ExpectError(Post("/v1/chat/completions", {{"model", "llama-demo"},
                                            {"messages", {{{"role", "user"}, {"content", "x"}}}},
                                            {"top_logprobs", 3}}),
              400, "'top_logprobs' needs 'logprobs': true");
  ExpectError(Post("/v1/completions", with("presence_penalty", 0.5)), 400,
              "'presence_penalty' is not supported");
  ExpectError(Post("/v1/chat/completions", {{"model", "llama-demo"},
                                            {"messages", {{{"role", "user"}, {"content", "x"}}}},
                                            {"tools", {{{"type", "function"}}}}}),
              400, "'tools' is not supported");
  ExpectError(Post("/v1/completions", with("prompt", json::array({1, 99999}))), 400,
              "'prompt' token 99999 is not an id");
  json neutral = with("echo", false);
  neutral["logprobs"] = nullptr;
  neutral["frequency_penalty"] = 0;
  EXPECT_EQ(Post("/v1/completions", neutral)->status, 200);
  EXPECT_EQ(Post("/v1/completions", with("max_tokens", 2))->status, 200);  // still serving
  // The client's deadline header (llm_engine.h GenerationRequest::deadline): a malformed one is
  // refused, a generous one changes nothing.
  const auto with_deadline = [&](const std::string& ms) {
    return Client().Post("/v1/completions", {{"X-Epara-Deadline-Ms", ms}},
                         with("max_tokens", 2).dump(), "application/json");
  };
  for (const char* bad : {"soon", "-5", "0", "1e12", "10ms"})
    ExpectError(with_deadline(bad), 400, "X-Epara-Deadline-Ms must be a positive number");
  EXPECT_EQ(with_deadline("60000")->status, 200);
}

// logprobs in both APIs' shapes: greedy decoding picks each step's most likely token, so every
// token is the first of its alternatives with the same log-probability; the alternatives are
// sorted and their probabilities sum to at most 1; the tokens spell the text. echo puts the
// prompt before the completion.
TEST_F(OpenAiE2ETest, LogprobsAndEcho) {
  auto r = Post("/v1/completions", {{"model", "llama-demo"},
                                    {"prompt", "Hello"},
                                    {"max_tokens", 6},
                                    {"temperature", 0},
                                    {"ignore_eos", true},
                                    {"logprobs", 3}});
  ASSERT_EQ(r->status, 200) << r->body;
  json c = json::parse(r->body)["choices"][0];
  const json& lp = c["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), 6u) << r->body;
  std::string spelled;
  bool ascii = true;  // a byte token >= 0x80 is not UTF-8 alone: it reads "bytes:\\xNN"
  for (size_t i = 0; i < 6; ++i) {
    const std::string tok = lp["tokens"][i];
    if (i > 0) {
      EXPECT_GE(lp["text_offset"][i].get<size_t>(), lp["text_offset"][i - 1].get<size_t>());
    }
    spelled += tok;
    ascii = ascii && tok.rfind("bytes:", 0) != 0;
    const double logprob = lp["token_logprobs"][i];
    EXPECT_LE(logprob, 0.0);
    const json& top = lp["top_logprobs"][i];
    ASSERT_GE(top.size(), 1u);  // special tokens (no text) share one key, the likeliest kept
    ASSERT_LE(top.size(), 3u);
    double best = -1e30, mass = 0;
    for (const auto& [t, v] : top.items()) {
      best = std::max(best, v.get<double>());
      mass += std::exp(v.get<double>());
    }
    EXPECT_NEAR(best, logprob, 1e-6) << "greedy token " << i << " is not the most likely";
    EXPECT_LE(mass, 1.0 + 1e-6);
  }
  EXPECT_EQ(lp["text_offset"][0], 0);
  if (ascii) {
    EXPECT_EQ(spelled, c["text"].get<std::string>());
  }

  r = Post("/v1/chat/completions", {{"model", "llama-demo"},
                                    {"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                                    {"max_tokens", 4},
                                    {"temperature", 0},
                                    {"ignore_eos", true},
                                    {"logprobs", true},
                                    {"top_logprobs", 2}});
  ASSERT_EQ(r->status, 200) << r->body;
  const json content = json::parse(r->body)["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 4u) << r->body;
  for (const json& t : content) {
    ASSERT_EQ(t["top_logprobs"].size(), 2u);
    EXPECT_NEAR(t["top_logprobs"][0]["logprob"].get<double>(), t["logprob"].get<double>(), 1e-6);
    EXPECT_GE(t["top_logprobs"][0]["logprob"].get<double>(),
              t["top_logprobs"][1]["logprob"].get<double>());
    EXPECT_LE(t["bytes"].size(), 1u);  // a byte per token of the byte vocabulary (EOS: none)
    if (!t["bytes"].empty() && t["bytes"][0].get<int>() >= 0x80) {  // not UTF-8 on its own
      EXPECT_EQ(t["token"].get<std::string>().rfind("bytes:\\x", 0), 0u) << t.dump();
    }
  }

  const json plain = {
      {"model", "llama-demo"}, {"prompt", "Hello"}, {"max_tokens", 3}, {"temperature", 0}};
  json echoed = plain;
  echoed["echo"] = true;
  auto a = Post("/v1/completions", plain), b = Post("/v1/completions", echoed);
  ASSERT_EQ(b->status, 200) << b->body;
  EXPECT_EQ(json::parse(b->body)["choices"][0]["text"].get<std::string>(),
            "Hello" + json::parse(a->body)["choices"][0]["text"].get<std::string>());
  EXPECT_TRUE(json::parse(a->body)["choices"][0]["logprobs"].is_null());
}

// /tokenize and /detokenize (llama.cpp's and vLLM's shapes), and a completion prompt given as the
// token ids /tokenize returned: the same greedy completion as the text prompt.
TEST_F(OpenAiE2ETest, TokenizeDetokenizeAndTokenIdPrompts) {
  auto r = Post("/tokenize", {{"content", "Hello"}});  // one LLM served: "model" may be left out
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  const std::vector<int32_t> ids = j["tokens"].get<std::vector<int32_t>>();
  EXPECT_EQ(ids.size(), 6u);  // BOS + 5 bytes, as the completion's usage counts them
  EXPECT_EQ(j["count"], 6);
  EXPECT_GT(j["max_model_len"].get<int>(), 0);
  r = Post("/tokenize", {{"model", "llama-demo"}, {"prompt", "Hello"}, {"add_special", false}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["tokens"].size(), 5u);
  r = Post("/detokenize", {{"model", "llama-demo"}, {"tokens", ids}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["content"], "Hello");  // BOS has no text

  const json text_prompt = {
      {"model", "llama-demo"}, {"prompt", "Hello"}, {"max_tokens", 6}, {"temperature", 0}};
  json id_prompt = text_prompt;
  id_prompt["prompt"] = ids;
  auto a = Post("/v1/completions", text_prompt), b = Post("/v1/completions", id_prompt);
  ASSERT_EQ(a->status, 200) << a->body;
  ASSERT_EQ(b->status, 200) << b->body;
  EXPECT_EQ(json::parse(a->body)["choices"][0]["text"], json::parse(b->body)["choices"][0]["text"]);
  EXPECT_EQ(json::parse(b->body)["usage"]["prompt_tokens"], 6);
  id_prompt["prompt"] = json::array({ids});  // [[ids]]: one prompt
  EXPECT_EQ(Post("/v1/completions", id_prompt)->status, 200);

  ExpectError(Post("/detokenize", {{"tokens", {1, 999999}}}), 400, "token 999999 is not an id");
  ExpectError(Post("/tokenize", {{"content", 3}}), 400, "'content' (or 'prompt') must be a string");
  ExpectError(Post("/tokenize", {{"model", "nope"}, {"content", "x"}}), 404,
              "model 'nope' not found");
}

TEST_F(OpenAiE2ETest, ClientDisconnectMidStreamCancelsTheSequence) {
  const std::string body = json{
      {"model", "llama-demo"},
      {"prompt", "Tell me everything"},
      {"max_tokens", 3000},
      {"stream", true},
      {"temperature", 0}}.dump();
  const int fd = testing::ConnectLoopback(server_->port(), 30);
  ASSERT_GE(fd, 0);
  const std::string request =
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string got;
  char buf[4096];
  while (got.find("data: ") ==
         std::string::npos) {  // wait (bounded by SO_RCVTIMEO) for the first event
    ssize_t n = read(fd, buf, sizeof buf);
    ASSERT_GT(n, 0) << "no stream data";
    got.append(buf, static_cast<size_t>(n));
  }
  close(fd);  // the client goes away mid-stream
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  double cancelled = -1;
  for (;;) {
    const std::string m = Client().Get("/metrics")->body;
    cancelled = MetricValue(m, "epara_llm_request_success_total", "finished_reason=\"cancelled\"");
    if (cancelled >= 1 && MetricValue(m, "epara_llm_num_requests_running", "llama-demo") == 0 &&
        MetricValue(m, "epara_llm_kv_cache_usage_ratio", "llama-demo") == 0)
      break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "sequence was not cancelled:\n" << m;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the server, bounded
  }
  EXPECT_GE(cancelled, 1);
}

// A model repository under `root` (created) holding llama-demo as "llm-tight" with the engine
// limits `llm` (the model.yaml `llm:` mapping), for tests that fill its queue.
void TightLlmRepo(const fs::path& root, const std::string& llm) {
  fs::create_directories(root / "demo");
  std::string out;
  ASSERT_EQ(testing::RunEpara({"models", "demo", (root / "demo").string()}, &out), 0) << out;
  const fs::path tight = root / "repo" / "llm-tight";
  fs::create_directories(tight);
  for (const char* f : {"config.json", "model.safetensors", "epara_tokenizer.json"})
    fs::copy_file(root / "demo" / "llama-demo" / f, tight / f);
  std::ofstream(tight / "model.yaml")
      << "name: llm-tight\ntask: llm\nbackend: libtorch\n"
      << "artifacts: [config.json, model.safetensors, epara_tokenizer.json]\n"
      << "llm: " << llm << "\n";
}

// A streamed request whose client hangs up while it still waits for a place in the batch is dropped
// unrun (as vLLM aborts on a disconnect), long before the request ahead of it ends.
TEST(OpenAiDisconnectTest, AWaitingStreamWhoseClientHangsUpIsDroppedUnrun) {
  const fs::path root = fs::temp_directory_path() / ("epara_oai_gone_" + std::to_string(getpid()));
  ASSERT_NO_FATAL_FAILURE(TightLlmRepo(root, "{max_running: 1}"));
  testing::ServerProcess server;
  std::string error;
  ASSERT_TRUE(server.Start({"--models", (root / "repo").string()}, root.string(), &error)) << error;
  const auto metrics = [&] {
    httplib::Client c("127.0.0.1", server.port());
    auto r = c.Get("/metrics");
    return r ? r->body : std::string();
  };
  const auto gauge = [&](const char* name) { return MetricValue(metrics(), name, "llm-tight"); };
  // Waits (bounded) until `done()` holds.
  const auto await = [](auto done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the server, bounded
    }
    return true;
  };
  auto running = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", server.port());
    c.set_read_timeout(300, 0);
    const json body = {{"model", "llm-tight"},
                       {"prompt", "ahead"},
                       {"max_tokens", 1000},
                       {"temperature", 0},
                       {"ignore_eos", true}};
    return c.Post("/v1/completions", body.dump(), "application/json");
  });
  ASSERT_TRUE(await([&] { return gauge("epara_llm_num_requests_running") == 1; })) << server.Log();
  // The stream behind it, on a raw connection: its headers arrive (the server is streaming it),
  // it waits in the engine, and its client hangs up.
  const std::string body = json{
      {"model", "llm-tight"},
      {"prompt", std::string(200, 'g')},
      {"max_tokens", 8},
      {"stream", true}}.dump();
  const int fd = testing::ConnectLoopback(server.port(), 30);
  ASSERT_GE(fd, 0);
  const std::string request =
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {  // bounded by SO_RCVTIMEO
    const ssize_t n = read(fd, buf, sizeof buf);
    ASSERT_GT(n, 0) << "no response head";
    head.append(buf, static_cast<size_t>(n));
  }
  ASSERT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  ASSERT_EQ(gauge("epara_llm_num_requests_waiting"), 1);
  close(fd);
  ASSERT_TRUE(await([&] { return gauge("epara_llm_num_requests_waiting") == 0; }))
      << "the abandoned stream still waits:\n"
      << metrics();
  const std::string m = metrics();
  // With one running sequence at most, it left the queue without running: the one ahead still runs.
  EXPECT_EQ(MetricValue(m, "epara_llm_num_requests_running", "llm-tight"), 1)
      << "the request ahead ended first: the wait proves nothing";
  EXPECT_GE(MetricValue(m, "epara_llm_request_success_total", "finished_reason=\"error\""), 1) << m;
  auto a = running.get();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 200) << a->body;
  EXPECT_EQ(server.Stop(), 0) << server.Log();
  std::error_code ec;
  fs::remove_all(root, ec);
}

// Overload: one running and one waiting sequence at most; a third request is turned away with 429
// (OpenAI's error shape, Retry-After), and both accepted requests still finish.
TEST(OpenAiOverloadTest, FullWaitingQueueGives429AndAcceptedRequestsFinish) {
  const fs::path root = fs::temp_directory_path() / ("epara_oai_q_" + std::to_string(getpid()));
  ASSERT_NO_FATAL_FAILURE(TightLlmRepo(root, "{max_running: 1, max_waiting: 1}"));
  testing::ServerProcess server;
  std::string error;
  ASSERT_TRUE(server.Start({"--models", (root / "repo").string()}, root.string(), &error)) << error;
  const auto post = [&](int max_tokens) {
    httplib::Client c("127.0.0.1", server.port());
    c.set_read_timeout(120, 0);
    const json body = {{"model", "llm-tight"},
                       {"prompt", "overload"},
                       {"max_tokens", max_tokens},
                       {"temperature", 0},
                       {"ignore_eos", true}};
    return c.Post("/v1/completions", body.dump(), "application/json");
  };
  const auto metric = [&](const char* name) {
    httplib::Client c("127.0.0.1", server.port());
    auto r = c.Get("/metrics");
    return r ? MetricValue(r->body, name, "llm-tight") : -1.0;
  };
  // Waits (bounded) until the gauge reaches `value`.
  const auto await = [&](const char* name, double value) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (metric(name) < value) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the server, bounded
    }
    return true;
  };
  auto running = std::async(std::launch::async, post, 2000);  // long: ignore_eos, 2000 tokens
  ASSERT_TRUE(await("epara_llm_num_requests_running", 1)) << server.Log();
  auto waiting = std::async(std::launch::async, post, 4);
  ASSERT_TRUE(await("epara_llm_num_requests_waiting", 1)) << server.Log();
  ASSERT_EQ(metric("epara_llm_num_requests_running"), 1) << "the long request ended too early";

  auto rejected = post(4);
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 429) << rejected->body;
  EXPECT_EQ(rejected->get_header_value("Retry-After"), "1");
  const json e = json::parse(rejected->body);
  EXPECT_EQ(e["error"]["type"], "resource_exhausted");
  EXPECT_EQ(e["error"]["code"], 429);
  EXPECT_NE(e["error"]["message"].get<std::string>().find("wait"), std::string::npos) << e;

  auto a = running.get();
  auto b = waiting.get();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->status, 200) << a->body;
  EXPECT_EQ(b->status, 200) << b->body;
  EXPECT_EQ(json::parse(a->body)["usage"]["completion_tokens"], 2000);
  EXPECT_EQ(json::parse(b->body)["usage"]["completion_tokens"], 4);
  EXPECT_EQ(server.Stop(), 0) << server.Log();
  std::error_code ec;
  fs::remove_all(root, ec);
}

}  // namespace
}  // namespace epara
