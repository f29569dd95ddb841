// Black-box: `epara serve` with ONNX models (onnxruntime backend). Served results equal ONNX
// Runtime called directly on the same input; a corrupt model is skipped and the rest serves.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "formats/onnx_writer.h"
#include "image/image_codec.h"
#include "image/synthetic_scene.h"
#include "repo/model_descriptor.h"
#include "server_process.h"
#include "vision/segmentation_pipeline.h"
#ifdef EPARA_HAVE_ORT
#include "backend/onnxruntime/ort_backend.h"
#endif

namespace epara {
namespace {

namespace fs = std::filesystem;
namespace onnx = formats::onnx;
using json = nlohmann::json;
using testing::RunEpara;
using testing::ServerProcess;

#ifdef EPARA_HAVE_ORT

// The model's output for `input`, run directly through the backend (one thread, as served).
std::vector<Tensor> Direct(const fs::path& model, const std::vector<Tensor>& inputs) {
  auto be = backend::CreateOrtBackend();
  std::unique_ptr<backend::ModelInstance> inst;
  std::vector<Tensor> out;
  Status s = be->Load({"direct", {model.string()}, "cpu", 1, {}, {}}, &inst);
  if (s.ok()) s = inst->Run(inputs, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

class OnnxE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ =
        new fs::path(fs::temp_directory_path() / ("epara_onnx_e2e_" + std::to_string(getpid())));
    const fs::path demo = *root_ / "demo", repo = *root_ / "repo";
    fs::create_directories(repo / "add-onnx");
    fs::create_directories(repo / "broken");
    std::string out;
    if (RunEpara({"models", "demo", demo.string()}, &out) != 0) {
      setup_error_ = "epara models demo failed: " + out;
      return;
    }
    fs::copy(demo / "seg-demo-onnx", repo / "seg-demo-onnx", fs::copy_options::recursive);
    onnx::Graph g;  // sum = a + b, FP32 [N, 4]
    g.inputs = {{"a", onnx::ElemType::kFloat, {-1, 4}}, {"b", onnx::ElemType::kFloat, {-1, 4}}};
    g.outputs = {{"sum", onnx::ElemType::kFloat, {-1, 4}}};
    g.nodes = {{"Add", {"a", "b"}, {"sum"}}};
    if (Status s = onnx::WriteModel(g, (repo / "add-onnx" / "model.onnx").string()); !s.ok()) {
      setup_error_ = s.ToString();
      return;
    }
    std::ofstream(repo / "add-onnx" / "model.yaml")
        << "name: add-onnx\ntask: tensor\nbackend: onnxruntime\nartifacts: [model.onnx]\n"
           "batching: {max_batch_size: 8, max_queue_delay_ms: 1}\n"
           "instances: {count: 1, threads: 1}\n";
    std::ofstream(repo / "broken" / "model.onnx") << "not an onnx file";
    std::ofstream(repo / "broken" / "model.yaml")
        << "name: broken\ntask: tensor\nbackend: onnxruntime\nartifacts: [model.onnx]\n";
    server_ = new ServerProcess();
    if (!server_->Start({"--models", repo.string(), "--skip-invalid"}, root_->string(),
                        &setup_error_)) {
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
    c.set_read_timeout(120, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }
  static fs::path Model(const std::string& name) { return *root_ / "repo" / name / "model.onnx"; }

  static fs::path* root_;
  static ServerProcess* server_;
  static std::string setup_error_;
};
fs::path* OnnxE2ETest::root_ = nullptr;
ServerProcess* OnnxE2ETest::server_ = nullptr;
std::string OnnxE2ETest::setup_error_;

TEST_F(OnnxE2ETest, MetadataComesFromTheModelFile) {
  auto c = Client();
  auto r = c.Get("/v2/models/seg-demo-onnx");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["platform"], "onnxruntime");
  ASSERT_EQ(j["inputs"].size(), 1u) << r->body;
  EXPECT_EQ(j["inputs"][0]["name"], "image");
  EXPECT_EQ(j["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(j["inputs"][0]["shape"], json({-1, 3, 256, 256}));
  EXPECT_EQ(j["outputs"][0]["name"], "logits");
  EXPECT_EQ(j["outputs"][0]["shape"], json({-1, 4, 256, 256}));
}

TEST_F(OnnxE2ETest, KServeInferEqualsTheDirectRunBitForBit) {
  // Tensor model: several rows (batched by the server) with values that are not round in binary.
  Tensor a(DataType::kFp32, {3, 4}), b(DataType::kFp32, {3, 4});
  for (int i = 0; i < 12; ++i) {
    a.data<float>()[i] = 0.1f * i - 0.37f;
    b.data<float>()[i] = 1.0f / (i + 3);
  }
  json body = {{"inputs",
                {{{"name", "a"},
                  {"shape", {3, 4}},
                  {"datatype", "FP32"},
                  {"data", std::vector<float>(a.data<float>(), a.data<float>() + 12)}},
                 {{"name", "b"},
                  {"shape", {3, 4}},
                  {"datatype", "FP32"},
                  {"data", std::vector<float>(b.data<float>(), b.data<float>() + 12)}}}}};
  auto c = Client();
  auto r = c.Post("/v2/models/add-onnx/infer", body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto direct = Direct(Model("add-onnx"), {a, b});
  const auto served = json::parse(r->body)["outputs"][0]["data"].get<std::vector<float>>();
  ASSERT_EQ(served.size(), 12u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(served[i], direct[0].data<float>()[i]) << i;

  // The UNet, through KServe JSON: a 256x256 image tensor in, logits out, equal to the direct run.
  Tensor x(DataType::kFp32, {1, 3, 256, 256});
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  for (int64_t i = 0; i < x.num_elements(); ++i) x.data<float>()[i] = nd(rng);
  json seg = {
      {"inputs",
       {{{"name", "image"},
         {"shape", {1, 3, 256, 256}},
         {"datatype", "FP32"},
         {"data", std::vector<float>(x.data<float>(), x.data<float>() + x.num_elements())}}}}};
  r = c.Post("/v2/models/seg-demo-onnx/infer", seg.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
  const auto logits = json::parse(r->body)["outputs"][0]["data"].get<std::vector<float>>();
  const auto ref = Direct(Model("seg-demo-onnx"), {x});
  ASSERT_EQ(static_cast<int64_t>(logits.size()), ref[0].num_elements());
  double max_diff = 0;
  for (size_t i = 0; i < logits.size(); ++i)
    max_diff = std::max<double>(max_diff, std::abs(logits[i] - ref[0].data<float>()[i]));
  EXPECT_LE(max_diff, 1e-6);

  // The same tensor as binary data (what Triton clients send) gives the same logits, bit for bit.
  const std::string head = json{{"parameters", {{"binary_data_output", true}}},
                                {"inputs",
                                 {{{"name", "image"},
                                   {"shape", {1, 3, 256, 256}},
                                   {"datatype", "FP32"},
                                   {"parameters", {{"binary_data_size", x.byte_size()}}}}}}}
                               .dump();
  const std::string bin = head + std::string(reinterpret_cast<const char*>(x.raw()), x.byte_size());
  r = c.Post("/v2/models/seg-demo-onnx/infer",
             {{"Inference-Header-Content-Length", std::to_string(head.size())}}, bin,
             "application/octet-stream");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
  const size_t n = std::stoul(r->get_header_value("Inference-Header-Content-Length"));
  ASSERT_EQ(r->body.size() - n, logits.size() * sizeof(float));
  std::vector<float> binary_logits(logits.size());
  std::memcpy(binary_logits.data(), r->body.data() + n, r->body.size() - n);
  EXPECT_EQ(binary_logits, logits);
}

TEST_F(OnnxE2ETest, SegmentEndpointEqualsTheDirectPipelineAndCutsOut) {
  std::string png;
  ASSERT_TRUE(EncodePng(SyntheticScene(320, 240), &png).ok());
  auto c = Client();
  auto r = c.Post("/v1/segment/seg-demo-onnx?format=json", png, "image/png");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);

  ModelDescriptor d;
  ASSERT_TRUE(
      LoadModelDescriptor((*root_ / "repo" / "seg-demo-onnx" / "model.yaml").string(), &d).ok());
  vision::PreprocessedImage pre;
  ASSERT_TRUE(vision::PreprocessImage(png, *d.preprocess, &pre).ok());
  const auto out = Direct(Model("seg-demo-onnx"), {pre.input});
  vision::SegmentationMask mask;
  ASSERT_TRUE(vision::PostprocessLogits(out[0], 320, 240, &mask).ok());
  ASSERT_EQ(j["classes"].size(), mask.class_pixels.size());
  for (size_t k = 0; k < mask.class_pixels.size(); ++k)
    EXPECT_EQ(j["classes"][k]["pixels"].get<int64_t>(), mask.class_pixels[k]) << k;

  r = c.Post("/v1/segment/seg-demo-onnx?format=cutout", png, "image/png");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "image/png");
  ASSERT_GT(r->body.size(), 26u);
  EXPECT_EQ(static_cast<unsigned char>(r->body[25]), 6);  // IHDR colour type 6: RGBA
  Image decoded;
  ASSERT_TRUE(DecodeImage(r->body, &decoded).ok());
  EXPECT_EQ(decoded.width, 320);
  EXPECT_EQ(decoded.height, 240);
}

TEST_F(OnnxE2ETest, ACorruptModelIsReportedAndTheOthersKeepServing) {
  auto c = Client();
  auto r = c.Get("/v2/models/broken/ready");
  ASSERT_TRUE(r);
  EXPECT_NE(r->status, 200);
  EXPECT_NE(server_->Log().find("not a loadable ONNX model"), std::string::npos) << server_->Log();
  r = c.Get("/v2/models/add-onnx/ready");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

#else

TEST(OnnxE2ETest, SkippedWithoutOnnxRuntime) {
  GTEST_SKIP() << "this build has no ONNX Runtime (scripts/fetch_assets.sh installs it)";
}

#endif

}  // namespace
}  // namespace epara
