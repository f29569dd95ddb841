// Black-box tests: the real `epara serve` binary, driven over HTTP on loopback.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include "image/image_codec.h"
#include "server_process.h"

namespace epara {
namespace {

namespace fs = std::filesystem;
using testing::MetricValue;
using json = nlohmann::json;
using testing::RunEpara;
using testing::ServerProcess;

// Writes a variant of tensor-demo (same model.pt) with other batching settings.
void WriteTensorVariant(const fs::path& repo, const fs::path& demo_repo, const std::string& name,
                        int max_batch, int delay_ms, int max_queue) {
  fs::create_directories(repo / name);
  fs::copy_file(demo_repo / "tensor-demo" / "model.pt", repo / name / "model.pt",
                fs::copy_options::overwrite_existing);
  std::ofstream(repo / name / "model.yaml")
      << "name: " << name << "\ntask: tensor\nartifacts: [model.pt]\n"
      << "inputs:\n  - {name: a, datatype: FP32, shape: [4]}\n  - {name: b, datatype: INT64, "
         "shape: [4]}\n"
      << "  - {name: c, datatype: UINT8, shape: [4]}\n"
      << "outputs:\n  - {name: sum, datatype: FP32, shape: [4]}\n  - {name: positive, datatype: "
         "INT64, shape: [1]}\n"
      << "batching: {max_batch_size: " << max_batch << ", max_queue_delay_ms: " << delay_ms
      << ", max_queue_size: " << max_queue << "}\ninstances: {count: 1, threads: 1}\n";
}

// One row per element of `a_first`: a = [v, v+1, v+2, v+3], b = [1, 1, 1, 1], c = [0, 0, 0, 2].
std::string InferBody(const std::vector<float>& a_first) {
  json a = json::array(), b = json::array(), c = json::array();
  for (float v : a_first) {
    a.push_back({v, v + 1, v + 2, v + 3});
    b.push_back({1, 1, 1, 1});
    c.push_back({0, 0, 0, 2});
  }
  const int64_t n = static_cast<int64_t>(a_first.size());
  return json{{"id", "t"},
              {"inputs",
               {{{"name", "a"}, {"shape", {n, 4}}, {"datatype", "FP32"}, {"data", a}},
                {{"name", "b"}, {"shape", {n, 4}}, {"datatype", "INT64"}, {"data", b}},
                {{"name", "c"}, {"shape", {n, 4}}, {"datatype", "UINT8"}, {"data", c}}}}}
      .dump();
}

// Checks a tensor-demo response for the rows InferBody(a_first) sent.
void ExpectSums(const std::string& body, const std::vector<float>& a_first) {
  json j = json::parse(body);
  ASSERT_EQ(j["outputs"][0]["name"], "sum");
  const auto& data = j["outputs"][0]["data"];
  ASSERT_EQ(data.size(), 4 * a_first.size());
  for (size_t r = 0; r < a_first.size(); ++r)
    for (int k = 0; k < 4; ++k)
      EXPECT_FLOAT_EQ(data[r * 4 + k].get<float>(), a_first[r] + k + 1 + (k == 3 ? 2 : 0)) << body;
}

Image TestImage(int w, int h) {
  Image img{w, h, 3, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img.pixels[(y * w + x) * 3 + c] = static_cast<uint8_t>((x * (c + 1) + y * 3) % 256);
  return img;
}

class ServerE2ETest : public ::testing::Test {
 protected:
  // A failure here is reported by every test's SetUp() (gtest would otherwise mark them skipped).
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() / ("epara_e2e_" + std::to_string(getpid())));
    fs::create_directories(*root_ / "repo");
    std::string out;
    if (RunEpara({"models", "demo", (*root_ / "repo").string()}, &out) != 0) {
      setup_error_ = "epara models demo failed: " + out;
      return;
    }
    WriteTensorVariant(*root_ / "repo", *root_ / "repo", "tensor-batch4", 4, 30000, 64);
    // tensor-v1: a variant of the service "tensor-svc", which requests may name instead.
    WriteTensorVariant(*root_ / "repo", *root_ / "repo", "tensor-v1", 8, 0, 64);
    std::ofstream(*root_ / "repo" / "tensor-v1" / "model.yaml", std::ios::app)
        << "variant: {of: tensor-svc, accuracy: 1, min_accuracy: 0.5}\n";
    server_ = new ServerProcess();
    if (!server_->Start({"--models", (*root_ / "repo").string(), "--max-body-mb", "1"},
                        root_->string(), &setup_error_)) {
      delete server_;
      server_ = nullptr;
    }
  }
  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << "suite setup failed: " << setup_error_;
  }
  static void TearDownTestSuite() {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Log();
    }
    delete server_;
    server_ = nullptr;
    fs::remove_all(*root_);
    delete root_;
  }
  static httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(60, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }
  // Asserts an epara JSON error: status code, error.type, and a message containing `message`.
  static void ExpectError(const httplib::Result& r, int status, const std::string& type,
                          const std::string& message) {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, status) << r->body;
    json j = json::parse(r->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "error body is not JSON: " << r->body;
    EXPECT_EQ(j["error"]["type"], type) << r->body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(message), std::string::npos) << r->body;
  }

  static fs::path* root_;
  static ServerProcess* server_;
  static std::string setup_error_;
};
std::string ServerE2ETest::setup_error_;
fs::path* ServerE2ETest::root_ = nullptr;
ServerProcess* ServerE2ETest::server_ = nullptr;

TEST_F(ServerE2ETest, HealthAndModelMetadata) {
  auto c = Client();
  EXPECT_EQ(c.Get("/v2/health/live")->status, 200);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200);
  EXPECT_EQ(json::parse(c.Get("/v2")->body)["name"], "epara");
  auto meta = c.Get("/v2/models/seg-demo");
  ASSERT_EQ(meta->status, 200);
  json m = json::parse(meta->body);
  EXPECT_EQ(m["inputs"][0]["shape"], json::array({-1, 3, 256, 256}));
  EXPECT_EQ(m["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(c.Get("/v2/models/tensor-demo/ready")->status, 200);
  EXPECT_EQ(c.Get("/v2/models/tensor-demo/versions/1")->status, 200);
  ExpectError(c.Get("/v2/models/tensor-demo/versions/2"), 404, "not_found", "no version '2'");
}

// The server re-executes itself once so OpenBLAS reads OPENBLAS_THREAD_TIMEOUT at load
// (core/library_env.h); a value from the caller's environment is kept.
TEST_F(ServerE2ETest, ServerRunsWithTheLibraryEnvironment) {
  std::ifstream env("/proc/" + std::to_string(server_->pid()) + "/environ", std::ios::binary);
  ASSERT_TRUE(env) << "cannot read the server's environment";
  std::string var, found;
  while (std::getline(env, var, '\0'))
    if (var.rfind("OPENBLAS_THREAD_TIMEOUT=", 0) == 0) found = var.substr(24);
  const char* mine = std::getenv("OPENBLAS_THREAD_TIMEOUT");
  EXPECT_EQ(found, mine ? std::string(mine) : "4");
}

TEST_F(ServerE2ETest, KServeInferReturnsExactResultsAndHonoursRequestedOutputs) {
  auto c = Client();
  auto r = c.Post("/v2/models/tensor-demo/infer", InferBody({1.5f, -20.0f}), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  ExpectSums(r->body, {1.5f, -20.0f});
  json j = json::parse(r->body);
  EXPECT_EQ(j["id"], "t");
  EXPECT_EQ(j["outputs"][1]["datatype"], "INT64");
  EXPECT_EQ(j["outputs"][1]["data"], json::array({4, 0}));  // row 2 sums: -19, -18, -17, -14
  json only = json::parse(InferBody({0.0f}));
  only["outputs"] = {{{"name", "positive"}}};
  r = c.Post("/v2/models/tensor-demo/infer", only.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  ASSERT_EQ(j["outputs"].size(), 1u);
  EXPECT_EQ(j["outputs"][0]["name"], "positive");
}

// The binary tensor data extension, built by hand as a Triton client sends it: the JSON part, its
// length in Inference-Header-Content-Length, then the tensors' little-endian bytes.
TEST_F(ServerE2ETest, KServeBinaryTensorsGiveTheJsonResultsBitForBit) {
  auto c = Client();
  ASSERT_NE(c.Get("/v2")->body.find("binary_tensor_data"), std::string::npos);
  const std::vector<float> a = {0.1f, 1.1f, 2.1f, 3.1f, -5.f, -4.f, -3.f, -2.f};
  const std::vector<int64_t> b(8, 1);
  const std::vector<uint8_t> cc = {0, 0, 0, 2, 0, 0, 0, 2};
  const json head = {
      {"inputs",
       {{{"name", "a"},
         {"shape", {2, 4}},
         {"datatype", "FP32"},
         {"parameters", {{"binary_data_size", 32}}}},
        {{"name", "b"}, {"shape", {2, 4}}, {"datatype", "INT64"}, {"data", b}},
        {{"name", "c"},
         {"shape", {2, 4}},
         {"datatype", "UINT8"},
         {"parameters", {{"binary_data_size", 8}}}}}},
      {"outputs",
       {{{"name", "sum"}, {"parameters", {{"binary_data", true}}}}, {{"name", "positive"}}}}};
  const std::string json_part = head.dump();
  std::string body = json_part;
  body.append(reinterpret_cast<const char*>(a.data()), 32);
  body.append(reinterpret_cast<const char*>(cc.data()), 8);
  httplib::Headers headers = {
      {"Inference-Header-Content-Length", std::to_string(json_part.size())}};
  auto r = c.Post("/v2/models/tensor-demo/infer", headers, body, "application/octet-stream");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(r->has_header("Inference-Header-Content-Length"));
  const size_t n = std::stoul(r->get_header_value("Inference-Header-Content-Length"));
  ASSERT_EQ(r->body.size(), n + 32);  // sum: 2 x 4 FP32 as bytes; positive stays JSON
  json j = json::parse(r->body.substr(0, n));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 32);
  EXPECT_EQ(j["outputs"][1]["data"], json::array({4, 1}));  // row 2 sums: -4, -3, -2, 1
  std::vector<float> sum(8);
  std::memcpy(sum.data(), r->body.data() + n, 32);

  // The same request as JSON: bit-identical sums.
  json as_json = head;
  as_json["inputs"][0].erase("parameters");
  as_json["inputs"][0]["data"] = a;
  as_json["inputs"][2].erase("parameters");
  as_json["inputs"][2]["data"] = cc;
  as_json["outputs"][0].erase("parameters");
  auto rj = c.Post("/v2/models/tensor-demo/infer", as_json.dump(), "application/json");
  ASSERT_EQ(rj->status, 200) << rj->body;
  const auto expected = json::parse(rj->body)["outputs"][0]["data"].get<std::vector<float>>();
  ASSERT_EQ(expected.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(sum[i], expected[i]) << i;

  // Bad framing: a clear 400, and the server keeps serving.
  headers = {{"Inference-Header-Content-Length", std::to_string(body.size() + 1)}};
  ExpectError(c.Post("/v2/models/tensor-demo/infer", headers, body, "application/octet-stream"),
              400, "invalid_argument", "beyond the body");
  headers = {{"Inference-Header-Content-Length", std::to_string(json_part.size())}};
  ExpectError(c.Post("/v2/models/tensor-demo/infer", headers, body.substr(0, body.size() - 3),
                     "application/octet-stream"),
              400, "invalid_argument", "input 'c': the body holds 5 binary bytes");
  auto ok = c.Post("/v2/models/tensor-demo/infer", InferBody({7}), "application/json");
  ASSERT_EQ(ok->status, 200);
  ExpectSums(ok->body, {7});
}

TEST_F(ServerE2ETest, ARequestNamingAServiceRunsOnItsVariant) {
  auto c = Client();
  auto r = c.Post("/v2/models/tensor-svc/infer", InferBody({2.5f}), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  ExpectSums(r->body, {2.5f});
  EXPECT_EQ(json::parse(r->body)["model_name"], "tensor-v1");  // the variant that ran it
  auto meta = c.Get("/v2/models/tensor-svc");
  ASSERT_EQ(meta->status, 200) << meta->body;
  EXPECT_EQ(json::parse(meta->body)["name"], "tensor-v1");
  ExpectError(c.Post("/v2/models/tensor-sv/infer", InferBody({1}), "application/json"), 404,
              "not_found", "model 'tensor-sv' not found");
}

TEST_F(ServerE2ETest, SegmentationReturnsAMaskOfTheInputSize) {
  auto c = Client();
  std::string png, jpg;
  ASSERT_TRUE(EncodePng(TestImage(320, 240), &png).ok());
  ASSERT_TRUE(EncodeJpeg(TestImage(200, 150), 90, &jpg).ok());
  auto r = c.Post("/v1/segment/seg-demo", png, "image/png");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "image/png");
  Image mask;
  ASSERT_TRUE(DecodeImage(r->body, &mask).ok());
  EXPECT_EQ(mask.width, 320);
  EXPECT_EQ(mask.height, 240);
  r = c.Post("/v1/segment/seg-demo", jpg, "image/jpeg");
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(DecodeImage(r->body, &mask).ok());
  EXPECT_EQ(mask.width, 200);

  r = c.Post("/v1/segment/seg-demo?format=json", png, "image/png");
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["width"], 320);
  ASSERT_EQ(j["classes"].size(), 4u);
  int64_t pixels = 0;
  for (const auto& cl : j["classes"]) pixels += cl["pixels"].get<int64_t>();
  EXPECT_EQ(pixels, 320 * 240);
  EXPECT_EQ(j["classes"][0]["label"], "background");
  EXPECT_GT(j["timings_ms"]["compute"].get<double>(), 0.0);
}

TEST_F(ServerE2ETest, EveryErrorClassGetsItsStatusAndAJsonBody) {
  auto c = Client();
  std::string png;
  ASSERT_TRUE(EncodePng(TestImage(64, 64), &png).ok());
  json wrong_shape = json::parse(InferBody({1}));
  wrong_shape["inputs"][0]["shape"] = {1, 2};
  wrong_shape["inputs"][0]["data"] = {1, 2};
  json wrong_type = json::parse(InferBody({1}));
  wrong_type["inputs"][1]["datatype"] = "FP32";
  json wrong_count = json::parse(InferBody({1}));
  wrong_count["inputs"][2]["data"] = {1, 2, 3};

  // 400: malformed input.
  ExpectError(c.Post("/v2/models/tensor-demo/infer", "{oops", "application/json"), 400,
              "invalid_argument", "not valid JSON");
  ExpectError(c.Post("/v2/models/tensor-demo/infer", wrong_shape.dump(), "application/json"), 400,
              "invalid_argument", "input 'a': shape [1, 2]");
  ExpectError(c.Post("/v2/models/tensor-demo/infer", wrong_type.dump(), "application/json"), 400,
              "invalid_argument", "input 'b': datatype FP32, expected INT64");
  ExpectError(c.Post("/v2/models/tensor-demo/infer", wrong_count.dump(), "application/json"), 400,
              "invalid_argument", "has 3 elements");
  ExpectError(c.Post("/v2/models/tensor-demo/infer", InferBody({1, 2, 3, 4, 5, 6, 7, 8, 9}),
                     "application/json"),
              400, "invalid_argument", "batch dimension 9");
  ExpectError(c.Post("/v1/segment/seg-demo", "not an image", "image/png"), 400, "invalid_argument",
              "not a PNG or JPEG");
  ExpectError(c.Post("/v1/segment/seg-demo", png.substr(0, png.size() / 2), "image/png"), 400,
              "invalid_argument", "invalid PNG");
  ExpectError(c.Post("/v1/segment/seg-demo?format=xml", png, "image/png"), 400, "invalid_argument",
              "format");
  ExpectError(c.Post("/v1/segment/tensor-demo", png, "image/png"), 400, "invalid_argument",
              "needs a segmentation model");
  // 404: unknown model or route.
  ExpectError(c.Post("/v2/models/nope/infer", InferBody({1}), "application/json"), 404, "not_found",
              "model 'nope' not found");
  ExpectError(c.Post("/v1/segment/nope", png, "image/png"), 404, "not_found",
              "model 'nope' not found");
  ExpectError(c.Get("/v2/models/nope"), 404, "not_found", "model 'nope' not found");
  ExpectError(c.Get("/v3/whatever"), 404, "not_found", "no route for GET /v3/whatever");
  // 413: body over the limit (the server runs with --max-body-mb 1), answered before the body is
  // read; a form-encoded body is just bytes (no 8 KiB form cap since the event-driven server).
  ExpectError(c.Post("/v1/segment/seg-demo", std::string(2 << 20, 'x'), "application/octet-stream"),
              413, "payload_too_large", "exceeds the configured limit");
  ExpectError(
      c.Post("/v1/segment/seg-demo", std::string(10000, 'x'), "application/x-www-form-urlencoded"),
      400, "invalid_argument", "not a PNG or JPEG");

  // Still serving, and the failures were counted.
  auto ok = c.Post("/v2/models/tensor-demo/infer", InferBody({7}), "application/json");
  ASSERT_EQ(ok->status, 200);
  ExpectSums(ok->body, {7});
  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_GE(MetricValue(metrics, "epara_inference_request_failure_total",
                        "model=\"tensor-demo\",reason=\"invalid\""),
            5);
}

TEST_F(ServerE2ETest, MalformedHttpDoesNotWedgeTheServer) {
  const std::vector<std::string> garbage_requests = {
      "GARBAGE\r\n\r\n",
      "POST /v2/models/x/infer HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
      std::string(70000, 'A') + "\r\n\r\n"};
  for (const std::string& garbage : garbage_requests) {
    const int fd = testing::ConnectLoopback(server_->port(), 10);
    ASSERT_GE(fd, 0);
    (void)!write(fd, garbage.data(), garbage.size());
    char buf[512];
    (void)!read(fd, buf,
                sizeof buf);  // whatever the answer, the connection ends or times out (bounded)
    close(fd);
  }
  auto c = Client();
  auto r = c.Get("/v2/health/live");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerE2ETest, ConcurrentClientsAreExecutedInOneBatch) {
  // tensor-batch4: max_batch_size 4, max_queue_delay 30 s. Four requests from four connections
  // must run together as soon as the fourth arrives (a full batch does not wait for the delay).
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::future<httplib::Result>> replies;
  for (int i = 0; i < 4; ++i) {
    replies.push_back(std::async(std::launch::async, [i] {
      auto c = Client();
      return c.Post("/v2/models/tensor-batch4/infer", InferBody({100.0f * i}), "application/json");
    }));
  }
  for (int i = 0; i < 4; ++i) {
    auto r = replies[i].get();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    ExpectSums(r->body, {100.0f * i});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20))
      << "the full batch waited for its delay";
  auto c = Client();
  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_EQ(MetricValue(metrics, "epara_inference_exec_count_total", "model=\"tensor-batch4\""), 1)
      << metrics;
  EXPECT_EQ(MetricValue(metrics, "epara_inference_batch_size_sum", "model=\"tensor-batch4\""), 4);
  EXPECT_EQ(
      MetricValue(metrics, "epara_inference_batch_size_bucket", "model=\"tensor-batch4\",le=\"3\""),
      0);
  EXPECT_EQ(
      MetricValue(metrics, "epara_inference_request_success_total", "model=\"tensor-batch4\""), 4);
}

TEST_F(ServerE2ETest, MetricsUseTritonStyleNames) {
  auto c = Client();
  std::string png;
  ASSERT_TRUE(EncodePng(TestImage(64, 64), &png).ok());
  ASSERT_EQ(c.Post("/v1/segment/seg-demo", png, "image/png")->status, 200);
  auto r = c.Get("/metrics");
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  for (const char* name :
       {"epara_inference_request_duration_seconds_bucket",
        "epara_inference_queue_duration_seconds_count",
        "epara_inference_compute_duration_seconds_sum", "epara_inference_batch_size_count",
        "epara_inference_pending_requests", "epara_inference_exec_count_total"}) {
    EXPECT_GE(MetricValue(r->body, name, "model=\"seg-demo\""), 0) << name;
  }
  EXPECT_GE(MetricValue(r->body, "epara_inference_request_success_total", "model=\"seg-demo\""), 1);
}

TEST(ServerLifecycleTest, QueueBoundGives503AndShutdownAnswersEveryAcceptedRequest) {
  const fs::path root = fs::temp_directory_path() / ("epara_e2e_q_" + std::to_string(getpid()));
  fs::create_directories(root / "demo");
  std::string out;
  ASSERT_EQ(RunEpara({"models", "demo", (root / "demo").string()}, &out), 0) << out;
  // Batches of 3 that wait 60 s for company; at most 2 may wait.
  WriteTensorVariant(root / "repo", root / "demo", "tensor-q2", 3, 60000, 2);
  ServerProcess server;
  std::string error;
  ASSERT_TRUE(server.Start({"--models", (root / "repo").string()}, root.string(), &error)) << error;
  auto client = [&] {
    httplib::Client c("127.0.0.1", server.port());
    c.set_read_timeout(90, 0);
    return c;
  };
  std::vector<std::future<httplib::Result>> waiting;
  for (int i = 0; i < 2; ++i)
    waiting.push_back(std::async(std::launch::async, [&, i] {
      return client().Post("/v2/models/tensor-q2/infer", InferBody({10.0f * i}),
                           "application/json");
    }));
  // Wait (bounded) until both are queued.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (MetricValue(client().Get("/metrics")->body, "epara_inference_pending_requests",
                     "tensor-q2") < 2) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "requests never queued";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling the server, bounded
  }
  auto rejected = client().Post("/v2/models/tensor-q2/infer", InferBody({5}), "application/json");
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 503) << rejected->body;
  EXPECT_EQ(rejected->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(rejected->body)["error"]["type"], "resource_exhausted");

  // SIGTERM: the two accepted requests are answered (the drain runs them without the 60 s wait).
  const auto stop_start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.Stop(std::chrono::seconds(45)), 0) << server.Log();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, std::chrono::seconds(30));
  for (int i = 0; i < 2; ++i) {
    auto r = waiting[i].get();
    ASSERT_TRUE(r) << "accepted request lost at shutdown";
    EXPECT_EQ(r->status, 200) << r->body;
    ExpectSums(r->body, {10.0f * i});
  }
  fs::remove_all(root);
}

TEST(ServerLifecycleTest, InvalidRepositoryFailsStartupNamingFileAndField) {
  const fs::path root = fs::temp_directory_path() / ("epara_e2e_bad_" + std::to_string(getpid()));
  fs::create_directories(root / "broken");
  std::ofstream(root / "broken" / "model.yaml")
      << "name: broken\ntask: tensor\nartifacts: [model.pt]\n";
  std::string out;
  const int code =
      RunEpara({"serve", "--models", root.string(), "--port", "0"}, &out, std::chrono::seconds(60));
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("broken/model.yaml: field 'artifacts[0]': file not found"), std::string::npos)
      << out;
  fs::remove_all(root);
}

}  // namespace
}  // namespace epara
