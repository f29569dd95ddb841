// The ONNX Runtime backend against models written by formats/onnx_writer.h: metadata read from the
// model, every served datatype, dynamic batch, a quantized graph, bad files, descriptor checks,
// concurrent instances, the demo UNet against its TorchScript form, and ISNet when fetched.
#include "backend/onnxruntime/ort_backend.h"

#include <gtest/gtest.h>

#include <ftw.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "backend/libtorch/libtorch_backend.h"
#include "core/half.h"
#include "engine/model_manager.h"
#include "formats/onnx_fp32.h"
#include "formats/onnx_writer.h"
#include "metrics/metrics_registry.h"
#include "models/demo_segmentation.h"
#include "models/isnet_model.h"
#include "repo/model_descriptor.h"
#include "vision/segmentation_pipeline.h"

namespace epara::backend {
namespace {

namespace fs = std::filesystem;
namespace onnx = formats::onnx;
using onnx::Attribute;
using onnx::ElemType;

// POSIX removal (see libtorch_backend_test.cc: pip's libtorch exports its own remove_all).
void RemoveTree(const fs::path& root) {
  nftw(
      root.c_str(),
      [](const char* path, const struct stat*, int, struct FTW*) { return std::remove(path); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

struct TypeCase {
  ElemType onnx;
  DataType epara;
  const char* suffix;
};
const TypeCase kTypes[] = {
    {ElemType::kFloat, DataType::kFp32, "fp32"},   {ElemType::kFloat16, DataType::kFp16, "fp16"},
    {ElemType::kDouble, DataType::kFp64, "fp64"},  {ElemType::kInt8, DataType::kInt8, "int8"},
    {ElemType::kUint8, DataType::kUInt8, "uint8"}, {ElemType::kInt32, DataType::kInt32, "int32"},
    {ElemType::kInt64, DataType::kInt64, "int64"}, {ElemType::kBool, DataType::kBool, "bool"},
};

// x_<t> [N, 3] -> Identity -> y_<t>, for every type; and a + b -> sum (FP32 [N, 4]).
onnx::Graph TypesGraph() {
  onnx::Graph g;
  for (const TypeCase& t : kTypes) {
    g.inputs.push_back({std::string("x_") + t.suffix, t.onnx, {-1, 3}, {"batch"}});
    g.outputs.push_back({std::string("y_") + t.suffix, t.onnx, {-1, 3}, {"batch"}});
    g.nodes.push_back({"Identity", {std::string("x_") + t.suffix}, {std::string("y_") + t.suffix}});
  }
  return g;
}

onnx::Graph AddGraph(ElemType type) {
  onnx::Graph g;
  g.inputs.push_back({"a", type, {-1, 4}, {"batch"}});
  g.inputs.push_back({"b", type, {-1, 4}, {"batch"}});
  g.outputs.push_back({"sum", type, {-1, 4}, {"batch"}});
  g.nodes.push_back({"Add", {"a", "b"}, {"sum"}});
  return g;
}

// Dynamically quantized matmul (what quantize_dynamic emits for MatMul): x FP32 [N, 8] ->
// DynamicQuantizeLinear -> MatMulInteger with int8 weights [8, 4] -> Cast -> * (x_scale * w_scale).
onnx::Graph QuantizedGraph(const std::vector<int8_t>& w, float w_scale) {
  onnx::Graph g;
  g.inputs.push_back({"x", ElemType::kFloat, {-1, 8}, {"batch"}});
  g.outputs.push_back({"y", ElemType::kFloat, {-1, 4}, {"batch"}});
  onnx::TensorData wq{"w_q", ElemType::kInt8, {8, 4}, std::string(w.begin(), w.end())};
  onnx::TensorData wzp{"w_zp", ElemType::kInt8, {}, std::string(1, '\0')};
  onnx::TensorData ws = onnx::FloatTensor("w_scale", {}, &w_scale);
  g.initializers = {wq, wzp, ws};
  g.nodes.push_back({"DynamicQuantizeLinear", {"x"}, {"x_q", "x_scale", "x_zp"}});
  g.nodes.push_back({"MatMulInteger", {"x_q", "w_q", "x_zp", "w_zp"}, {"acc"}});
  g.nodes.push_back({"Cast", {"acc"}, {"acc_f"}, {Attribute::Int("to", 1)}});
  g.nodes.push_back({"Mul", {"x_scale", "w_scale"}, {"scale"}});
  g.nodes.push_back({"Mul", {"acc_f", "scale"}, {"y"}});
  return g;
}

class OrtBackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("epara_ort_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    Status s = onnx::WriteModel(TypesGraph(), Path("types.onnx"));
    if (s.ok()) s = onnx::WriteModel(AddGraph(ElemType::kFloat), Path("add.onnx"));
    if (s.ok()) s = onnx::WriteModel(AddGraph(ElemType::kFloat16), Path("add16.onnx"));
    if (!s.ok()) setup_error_ = s.ToString();
  }
  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << "suite setup failed: " << setup_error_;
  }
  static void TearDownTestSuite() {
    RemoveTree(*dir_);
    delete dir_;
  }
  static std::string Path(const std::string& name) { return (*dir_ / name).string(); }
  static LoadSpec Spec(const std::string& file, int threads = 1) {
    LoadSpec spec;
    spec.model_name = file;
    spec.artifacts = {Path(file)};
    spec.threads = threads;
    return spec;
  }

  std::unique_ptr<Backend> backend_ = CreateOrtBackend();
  static fs::path* dir_;
  static std::string setup_error_;
};
fs::path* OrtBackendTest::dir_ = nullptr;
std::string OrtBackendTest::setup_error_;

TEST_F(OrtBackendTest, ReadsInputsOutputsDatatypesAndDynamicDimsFromTheModel) {
  EXPECT_EQ(backend_->name(), "onnxruntime");
  EXPECT_EQ(OrtVersion(), "1.29.0");
  std::unique_ptr<ModelInstance> inst;
  ASSERT_TRUE(backend_->Load(Spec("types.onnx"), &inst).ok());
  ModelSignature sig;
  ASSERT_TRUE(inst->Signature(&sig));
  ASSERT_EQ(sig.inputs.size(), std::size(kTypes));
  ASSERT_EQ(sig.outputs.size(), std::size(kTypes));
  for (size_t i = 0; i < std::size(kTypes); ++i) {
    EXPECT_EQ(sig.inputs[i].name, std::string("x_") + kTypes[i].suffix);
    EXPECT_EQ(sig.inputs[i].dtype, kTypes[i].epara) << kTypes[i].suffix;
    EXPECT_EQ(sig.inputs[i].shape, (std::vector<int64_t>{-1, 3}));
    EXPECT_EQ(sig.outputs[i].name, std::string("y_") + kTypes[i].suffix);
    EXPECT_EQ(sig.outputs[i].dtype, kTypes[i].epara);
  }
  EXPECT_GT(inst->MemoryFootprintBytes(), 0);
}

TEST_F(OrtBackendTest, EveryServedDatatypeRoundTripsBitExact) {
  std::unique_ptr<ModelInstance> inst;
  ASSERT_TRUE(backend_->Load(Spec("types.onnx"), &inst).ok());
  std::vector<Tensor> in;
  std::mt19937 rng(7);
  for (const TypeCase& t : kTypes) {
    Tensor x(t.epara, {2, 3});
    for (size_t b = 0; b < x.byte_size(); ++b) x.raw()[b] = static_cast<std::byte>(rng());
    if (t.epara == DataType::kBool)
      for (size_t b = 0; b < x.byte_size(); ++b) x.raw()[b] = static_cast<std::byte>(b % 2);
    if (t.epara == DataType::kFp16 || t.epara == DataType::kFp64 || t.epara == DataType::kFp32)
      for (size_t b = 0; b < x.byte_size(); ++b) x.raw()[b] = static_cast<std::byte>(b % 64);
    in.push_back(x);
  }
  std::vector<Tensor> out;
  ASSERT_TRUE(inst->Run(in, &out).ok());
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].dtype(), in[i].dtype()) << kTypes[i].suffix;
    EXPECT_EQ(out[i].shape(), in[i].shape());
    EXPECT_EQ(std::memcmp(out[i].raw(), in[i].raw(), in[i].byte_size()), 0) << kTypes[i].suffix;
  }
}

TEST_F(OrtBackendTest, DynamicBatchRunsAnyBatchSize) {
  std::unique_ptr<ModelInstance> inst;
  ASSERT_TRUE(backend_->Load(Spec("add.onnx"), &inst).ok());
  for (int64_t n : {1, 5, 16}) {
    Tensor a(DataType::kFp32, {n, 4}), b(DataType::kFp32, {n, 4});
    for (int64_t i = 0; i < 4 * n; ++i) {
      a.data<float>()[i] = 0.5f * i;
      b.data<float>()[i] = 100.0f - i;
    }
    std::vector<Tensor> out;
    ASSERT_TRUE(inst->Run({a, b}, &out).ok());
    ASSERT_EQ(out[0].shape(), (std::vector<int64_t>{n, 4}));
    for (int64_t i = 0; i < 4 * n; ++i) EXPECT_EQ(out[0].data<float>()[i], 100.0f - 0.5f * i);
  }
}

TEST_F(OrtBackendTest, Fp16ArithmeticRunsInHalfPrecision) {
  std::unique_ptr<ModelInstance> inst;
  ASSERT_TRUE(backend_->Load(Spec("add16.onnx"), &inst).ok());
  Tensor a(DataType::kFp16, {1, 4}), b(DataType::kFp16, {1, 4});
  const float av[4] = {1.5f, -2.0f, 1024.0f, 0.1f}, bv[4] = {0.25f, 2.0f, 0.5f, 0.2f};
  for (int i = 0; i < 4; ++i) {
    a.data<uint16_t>()[i] = FloatToHalf(av[i]);
    b.data<uint16_t>()[i] = FloatToHalf(bv[i]);
  }
  std::vector<Tensor> out;
  ASSERT_TRUE(inst->Run({a, b}, &out).ok());
  ASSERT_EQ(out[0].dtype(), DataType::kFp16);
  EXPECT_EQ(HalfToFloat(out[0].data<uint16_t>()[0]), 1.75f);
  EXPECT_EQ(HalfToFloat(out[0].data<uint16_t>()[1]), 0.0f);
  EXPECT_EQ(HalfToFloat(out[0].data<uint16_t>()[2]), 1024.0f);  // 1024.5 is not a half: even
  EXPECT_NEAR(HalfToFloat(out[0].data<uint16_t>()[3]), 0.3f, 1e-3f);
}

TEST_F(OrtBackendTest, DynamicallyQuantizedMatMulMatchesFloatWithinQuantizationError) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> wd(-127, 127);
  std::vector<int8_t> w(32);
  for (auto& v : w) v = static_cast<int8_t>(wd(rng));
  const float w_scale = 0.01f;
  ASSERT_TRUE(onnx::WriteModel(QuantizedGraph(w, w_scale), Path("quant.onnx")).ok());
  std::unique_ptr<ModelInstance> inst;
  Status s = backend_->Load(Spec("quant.onnx"), &inst);
  ASSERT_TRUE(s.ok()) << s.ToString();
  Tensor x(DataType::kFp32, {3, 8});
  std::uniform_real_distribution<float> xd(-1.f, 1.f);
  for (int i = 0; i < 24; ++i) x.data<float>()[i] = xd(rng);
  std::vector<Tensor> out;
  s = inst->Run({x}, &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(out[0].shape(), (std::vector<int64_t>{3, 4}));
  double max_err = 0;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) {
      double ref = 0;
      for (int k = 0; k < 8; ++k) ref += x.data<float>()[r * 8 + k] * w[k * 4 + c] * w_scale;
      max_err = std::max(max_err, std::abs(ref - out[0].data<float>()[r * 4 + c]));
    }
  // x is quantized to uint8 over its range [-1, 1]: step ~2/255, error per product <= step/2.
  EXPECT_LT(max_err, 8 * (1.0 / 255) * 127 * w_scale);
  EXPECT_GT(max_err, 0.0);  // it did run quantized, not in float
}

TEST_F(OrtBackendTest, MissingCorruptAndUnsupportedModelsFailTheirLoadWithAClearStatus) {
  std::unique_ptr<ModelInstance> inst;
  Status s = backend_->Load(Spec("absent.onnx"), &inst);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();

  std::ofstream(Path("corrupt.onnx")) << "this is not a protobuf \x01\x02\x03";
  s = backend_->Load(Spec("corrupt.onnx"), &inst);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("is not a loadable ONNX model"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("corrupt.onnx"), std::string::npos);

  onnx::Graph g;  // a STRING input: a datatype epara does not carry
  g.inputs.push_back({"text", static_cast<ElemType>(8), {1}});
  g.outputs.push_back({"same", static_cast<ElemType>(8), {1}});
  g.nodes.push_back({"Identity", {"text"}, {"same"}});
  ASSERT_TRUE(onnx::WriteModel(g, Path("strings.onnx")).ok());
  s = backend_->Load(Spec("strings.onnx"), &inst);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("input 'text'"), std::string::npos) << s.message();

  LoadSpec named = Spec("add.onnx");
  named.input_names = {"a", "c"};
  s = backend_->Load(named, &inst);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'c' is not one of the model's (a, b)"), std::string::npos)
      << s.message();
}

TEST_F(OrtBackendTest, DescriptorOrderIsHonouredAndOutputsCanBeSelected) {
  LoadSpec spec = Spec("types.onnx");
  spec.input_names.clear();
  for (auto it = std::rbegin(kTypes); it != std::rend(kTypes); ++it)
    spec.input_names.push_back(std::string("x_") + it->suffix);
  spec.output_names = {"y_int64"};
  std::unique_ptr<ModelInstance> inst;
  ASSERT_TRUE(backend_->Load(spec, &inst).ok());
  std::vector<Tensor> in;
  for (auto it = std::rbegin(kTypes); it != std::rend(kTypes); ++it)
    in.emplace_back(it->epara, std::vector<int64_t>{1, 3});
  in[1].data<int64_t>()[2] = 42;  // x_int64 is second in reversed order
  std::vector<Tensor> out;
  ASSERT_TRUE(inst->Run(in, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data<int64_t>()[2], 42);
  // A tensor of the wrong datatype in a position is refused, not misread.
  std::swap(in[0], in[1]);
  EXPECT_EQ(inst->Run(in, &out).code(), StatusCode::kInvalidArgument);
}

TEST_F(OrtBackendTest, ConcurrentInstancesComputeIndependently) {
  std::vector<std::unique_ptr<ModelInstance>> insts(2);
  for (auto& i : insts) ASSERT_TRUE(backend_->Load(Spec("add.onnx"), &i).ok());
  std::vector<int> wrong(2, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < 200; ++r) {
        Tensor a(DataType::kFp32, {2, 4}), b(DataType::kFp32, {2, 4});
        for (int i = 0; i < 8; ++i) {
          a.data<float>()[i] = static_cast<float>(t * 1000 + r);
          b.data<float>()[i] = static_cast<float>(i);
        }
        std::vector<Tensor> out;
        if (!insts[t]->Run({a, b}, &out).ok()) {
          ++wrong[t];
          continue;
        }
        for (int i = 0; i < 8; ++i)
          if (out[0].data<float>()[i] != static_cast<float>(t * 1000 + r + i)) ++wrong[t];
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, (std::vector<int>{0, 0}));
}

TEST_F(OrtBackendTest, CudaDevicesNeedTheCudaExecutionProvider) {
  const auto providers = OrtProviders();
  const bool cuda =
      std::find(providers.begin(), providers.end(), "CUDAExecutionProvider") != providers.end();
  LoadSpec spec = Spec("add.onnx");
  spec.device = "cuda:0";
  std::unique_ptr<ModelInstance> inst;
  Status s = backend_->Load(spec, &inst);
  if (!cuda) {
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
    GTEST_SKIP() << "this ONNX Runtime has no CUDA execution provider (CPU build); cuda:0 "
                    "answered Unavailable as it should";
  }
  ASSERT_TRUE(s.ok()) << s.ToString();
  Tensor a(DataType::kFp32, {1, 4}), b(DataType::kFp32, {1, 4});
  a.data<float>()[1] = 2.f;
  std::vector<Tensor> out;
  ASSERT_TRUE(inst->Run({a, b}, &out).ok());
  EXPECT_EQ(out[0].data<float>()[1], 2.f);
}

// An fp16 graph (what float16 converters emit: Cast in, fp16 initializer and Constant, Cast out)
// rewritten to fp32 computes the same graph without rounding to halves.
TEST_F(OrtBackendTest, Fp16GraphRewrittenToFp32ComputesInFp32) {
  onnx::Graph g;
  g.inputs.push_back({"x", ElemType::kFloat, {-1, 2}, {"batch"}});
  g.outputs.push_back({"y", ElemType::kFloat, {-1, 2}, {"batch"}});
  const uint16_t w[2] = {FloatToHalf(0.5f), FloatToHalf(-3.0f)}, c = FloatToHalf(2.0f);
  g.initializers.push_back(
      {"w", ElemType::kFloat16, {2}, std::string(reinterpret_cast<const char*>(w), 4)});
  g.nodes.push_back({"Cast", {"x"}, {"x16"}, {Attribute::Int("to", 10)}});
  g.nodes.push_back({"Add", {"x16", "w"}, {"s16"}});
  g.nodes.push_back(
      {"Constant",
       {},
       {"c16"},
       {Attribute::Tensor(
           "value",
           {"", ElemType::kFloat16, {}, std::string(reinterpret_cast<const char*>(&c), 2)})}});
  g.nodes.push_back({"Mul", {"s16", "c16"}, {"p16"}});
  g.nodes.push_back({"Cast", {"p16"}, {"y"}, {Attribute::Int("to", 1)}});
  const std::string fp16 = onnx::SerializeModel(g);
  std::string fp32;
  ASSERT_TRUE(onnx::ConvertFp16ModelToFp32(fp16, &fp32).ok());
  EXPECT_GT(fp32.size(), fp16.size());  // 2-byte values became 4-byte ones
  std::ofstream(Path("half.onnx"), std::ios::binary) << fp16;
  std::ofstream(Path("full.onnx"), std::ios::binary) << fp32;
  std::unique_ptr<ModelInstance> half, full;
  ASSERT_TRUE(backend_->Load(Spec("half.onnx"), &half).ok());
  Status s = backend_->Load(Spec("full.onnx"), &full);
  ASSERT_TRUE(s.ok()) << s.ToString();
  Tensor x(DataType::kFp32, {1, 2});
  x.data<float>()[0] = 1.0001f;  // not a half: fp16 rounds it to 1.0
  x.data<float>()[1] = 100.03f;
  std::vector<Tensor> yh, yf;
  ASSERT_TRUE(half->Run({x}, &yh).ok());
  ASSERT_TRUE(full->Run({x}, &yf).ok());
  EXPECT_FLOAT_EQ(yf[0].data<float>()[0], (1.0001f + 0.5f) * 2.0f);
  EXPECT_FLOAT_EQ(yf[0].data<float>()[1], (100.03f - 3.0f) * 2.0f);
  // ONNX Runtime may fold the fp16 graph's casts itself; it agrees within half precision.
  EXPECT_NEAR(yh[0].data<float>()[1], yf[0].data<float>()[1], 194.06 * 1e-3);
  // The rewritten model has no fp16 left: its initializer holds 4-byte floats of the same values.
  const float wf[2] = {0.5f, -3.0f};
  const std::string raw32(reinterpret_cast<const char*>(wf), sizeof wf);
  EXPECT_NE(fp32.find(raw32), std::string::npos);
  EXPECT_EQ(fp32.find(std::string(reinterpret_cast<const char*>(w), 4)), std::string::npos);
  EXPECT_EQ(onnx::ConvertFp16ModelToFp32("\xff\xff", &fp32).code(), StatusCode::kInvalidArgument);
}

// ModelManager with the real backend: a descriptor without tensors is completed from the model,
// one that disagrees with it fails to load naming the field, and the server keeps the others.
TEST_F(OrtBackendTest, ManagerFillsOmittedTensorsAndRejectsDisagreeingDescriptors) {
  const fs::path repo = *dir_ / "repo";
  for (const char* m : {"omitted", "wrong"}) {
    fs::create_directories(repo / m);
    fs::copy_file(Path("add.onnx"), repo / m / "model.onnx", fs::copy_options::overwrite_existing);
  }
  std::ofstream(repo / "omitted" / "model.yaml")
      << "name: omitted\ntask: tensor\nbackend: onnxruntime\nartifacts: [model.onnx]\n"
         "batching: {max_batch_size: 8}\ninstances: {count: 2, threads: 1}\n";
  std::ofstream(repo / "wrong" / "model.yaml")
      << "name: wrong\ntask: tensor\nbackend: onnxruntime\nartifacts: [model.onnx]\n"
         "inputs: [{name: a, datatype: FP32, shape: [5]}, {name: b, datatype: FP32, shape: [4]}]\n"
         "outputs: [{name: sum, datatype: FP32, shape: [4]}]\nbatching: {max_batch_size: 8}\n";
  BackendRegistry backends;
  ASSERT_TRUE(backends.Register(CreateOrtBackend()).ok());
  metrics::Registry registry;
  engine::ModelManager manager(&backends, &registry);
  ModelDescriptor d;
  ASSERT_TRUE(LoadModelDescriptor((repo / "omitted" / "model.yaml").string(), &d).ok());
  EXPECT_TRUE(d.inputs.empty());
  Status s = manager.Load(d);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const ModelDescriptor& served = manager.Find("omitted")->descriptor;
  ASSERT_EQ(served.inputs.size(), 2u);
  EXPECT_EQ(served.inputs[1].name, "b");
  EXPECT_EQ(served.inputs[1].dims, (std::vector<int64_t>{4}));  // batch dimension dropped
  ASSERT_EQ(served.outputs.size(), 1u);
  EXPECT_EQ(served.outputs[0].name, "sum");

  ASSERT_TRUE(LoadModelDescriptor((repo / "wrong" / "model.yaml").string(), &d).ok());
  s = manager.Load(d);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("model.yaml: field 'inputs[0].shape': [5] disagrees with the "
                             "model's input 'a' FP32 [-1, 4]"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(manager.Find("omitted")->state, engine::ModelState::kReady);

  Tensor a(DataType::kFp32, {1, 4}), b(DataType::kFp32, {1, 4});
  a.data<float>()[3] = 1.25f;
  b.data<float>()[3] = 2.f;
  engine::InferenceResult result;
  ASSERT_TRUE(engine::InferSync(*manager.Find("omitted"), {a, b}, 1, &result).ok());
  EXPECT_EQ(result.outputs[0].data<float>()[3], 3.25f);
}

// The demo UNet written twice from the same weights: TorchScript (LibTorch) and ONNX (ONNX
// Runtime) agree within 1e-4 on the same input.
TEST_F(OrtBackendTest, DemoUNetAgreesWithItsTorchScriptForm) {
  models::DemoSegmentationOptions o;
  o.size = 64;
  o.base_channels = 8;
  o.onnx_name = "seg-onnx";
  ASSERT_TRUE(models::WriteDemoSegmentationModel(dir_->string(), o).ok());
  std::unique_ptr<Backend> torch = CreateLibTorchBackend();
  LoadSpec ts{"seg", {(*dir_ / "seg-demo" / "model.pt").string()}, "cpu", 1, {"image"}, {"logits"}};
  LoadSpec ox{"seg", {(*dir_ / "seg-onnx" / "model.onnx").string()}, "cpu", 1, {}, {}};
  std::unique_ptr<ModelInstance> a, b;
  ASSERT_TRUE(torch->Load(ts, &a).ok());
  Status s = backend_->Load(ox, &b);
  ASSERT_TRUE(s.ok()) << s.ToString();
  Tensor x(DataType::kFp32, {2, 3, 64, 64});
  std::mt19937 rng(11);
  std::normal_distribution<float> nd;
  for (int64_t i = 0; i < x.num_elements(); ++i) x.data<float>()[i] = nd(rng);
  std::vector<Tensor> ya, yb;
  ASSERT_TRUE(a->Run({x}, &ya).ok());
  ASSERT_TRUE(b->Run({x}, &yb).ok());
  ASSERT_EQ(ya[0].shape(), yb[0].shape());
  double max_diff = 0, max_abs = 0;
  for (int64_t i = 0; i < ya[0].num_elements(); ++i) {
    max_diff =
        std::max<double>(max_diff, std::abs(ya[0].data<float>()[i] - yb[0].data<float>()[i]));
    max_abs = std::max<double>(max_abs, std::abs(ya[0].data<float>()[i]));
  }
  EXPECT_LT(max_diff, 1e-4) << "largest logit " << max_abs;
  EXPECT_GT(max_abs, 0.1);  // the net computes something
}

// ISNet (trained) on a real photograph, when scripts/fetch_assets.sh could fetch both: served
// through ModelManager (descriptor completed from the model) and run directly give the same mask,
// and the foreground is the astronaut.
TEST_F(OrtBackendTest, IsnetFindsTheAstronautAndServedEqualsDirect) {
  const std::string cache = models::AssetCacheDir();
  const fs::path photo = fs::path(cache) / "photos" / "astronaut.png";
  if (!fs::exists(fs::path(cache) / "isnet" / "model_int8.onnx") || !fs::exists(photo))
    GTEST_SKIP() << "ISNet or the photograph is not in " << cache
                 << " (scripts/fetch_assets.sh fetches them)";
  const fs::path repo = *dir_ / "isnet-repo";
  ASSERT_TRUE(models::WriteIsnetModel(repo.string(), cache, models::IsnetInt8()).ok());
  ModelDescriptor d;
  ASSERT_TRUE(LoadModelDescriptor((repo / "isnet" / "model.yaml").string(), &d).ok());
  d.instances.threads = 2;
  BackendRegistry backends;
  ASSERT_TRUE(backends.Register(CreateOrtBackend()).ok());
  metrics::Registry registry;
  engine::ModelManager manager(&backends, &registry);
  Status s = manager.Load(d);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const ModelDescriptor& served = manager.Find("isnet")->descriptor;

  std::ifstream in(photo, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  vision::PreprocessedImage pre;
  ASSERT_TRUE(vision::PreprocessImage(bytes, *served.preprocess, &pre).ok());
  engine::InferenceResult result;
  ASSERT_TRUE(engine::InferSync(*manager.Find("isnet"), {pre.input}, 1, &result).ok());

  std::unique_ptr<ModelInstance> direct;
  ASSERT_TRUE(backend_->Load({"isnet", d.artifacts, "cpu", 2, {}, {}}, &direct).ok());
  std::vector<Tensor> out;
  ASSERT_TRUE(direct->Run({pre.input}, &out).ok());
  ASSERT_EQ(out[0].byte_size(), result.outputs[0].byte_size());
  EXPECT_EQ(std::memcmp(out[0].raw(), result.outputs[0].raw(), out[0].byte_size()), 0);

  vision::SegmentationMask mask;
  ASSERT_TRUE(vision::PostprocessLogits(result.outputs[0], pre.original_width, pre.original_height,
                                        &mask, {served.postprocess, true})
                  .ok());
  const double fg = static_cast<double>(mask.class_pixels[1]) / mask.mask.pixels.size();
  // The astronaut (head, suit) and her helmet fill roughly half of the 512x512 frame; the flag,
  // the shuttle model and the wall are background. Below 0.30 the person was missed, above 0.75
  // the background was taken too.
  EXPECT_GT(fg, 0.30);
  EXPECT_LT(fg, 0.75);
  // The face (centre of the head, ~(225, 110)) is foreground; the wall at the top-right corner and
  // the flag's stripes at the left edge are not.
  auto at = [&](int x, int y) { return mask.mask.pixels[static_cast<size_t>(y) * 512 + x]; };
  EXPECT_EQ(at(225, 110), 1);
  EXPECT_EQ(at(500, 10), 0);
  EXPECT_EQ(at(5, 300), 0);
  std::printf("isnet int8 on astronaut.png: foreground fraction %.3f\n", fg);
}

}  // namespace
}  // namespace epara::backend
