#include "backend/libtorch/libtorch_backend.h"

#include <gtest/gtest.h>

#include <ftw.h>
#include <cmath>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "backend/backend_registry.h"
#include "models/demo_segmentation.h"
#include "models/demo_tensor.h"
#ifndef EPARA_TORCH_ONLY_BUILD
#include "repo/model_descriptor.h"
#endif
#include "vision/spatial_split.h"

namespace epara::backend {
namespace {

namespace fs = std::filesystem;

// Removes a directory tree with POSIX calls. Not std::filesystem::remove_all: pip's libtorch.so
// exports its own copy of that function, which crashes (null call) when it binds first
// (docs/ARCHITECTURE.md, "Measured, not assumed").
void RemoveTree(const fs::path& root) {
  nftw(
      root.c_str(),
      [](const char* path, const struct stat*, int, struct FTW*) { return std::remove(path); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

class LibTorchBackendTest : public ::testing::Test {
 protected:
  // A failure here is reported by every test's SetUp() (gtest would otherwise mark them skipped).
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("epara_lt_" + std::to_string(::getpid())));
    models::DemoSegmentationOptions o = Small(1234);
    for (Status s : {models::WriteDemoSegmentationModel((*dir_ / "a").string(), o),
                     models::WriteDemoSegmentationModel((*dir_ / "b").string(), o),
                     models::WriteDemoSegmentationModel((*dir_ / "c").string(), Small(99)),
                     models::WriteDemoTensorModel((*dir_ / "a").string(), {})})
      if (!s.ok()) setup_error_ += s.ToString() + "\n";
  }
  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << "suite setup failed: " << setup_error_;
  }
  static void TearDownTestSuite() {
    RemoveTree(*dir_);
    delete dir_;
  }
  static models::DemoSegmentationOptions Small(uint64_t seed) {
    models::DemoSegmentationOptions o;
    o.size = 32;
    o.base_channels = 4;
    o.seed = seed;
    return o;
  }
  static LoadSpec Spec(const std::string& sub, const std::string& device = "cpu") {
    return {"seg-demo", {(*dir_ / sub / "seg-demo" / "model.pt").string()}, device, 1, {"image"},
            {"logits"}};
  }
  static Tensor Input(int batch, float phase) {
    Tensor t(DataType::kFp32, {batch, 3, 32, 32});
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = std::sin(0.37f * i + phase);
    return t;
  }
  static double MaxDiff(const Tensor& a, const Tensor& b) {
    double m = 0;
    for (int64_t i = 0; i < a.num_elements(); ++i)
      m = std::max<double>(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
    return m;
  }
  std::unique_ptr<Backend> backend_ = CreateLibTorchBackend();
  static fs::path* dir_;
  static std::string setup_error_;
};
fs::path* LibTorchBackendTest::dir_ = nullptr;
std::string LibTorchBackendTest::setup_error_;

TEST_F(LibTorchBackendTest, RunsTheDemoModelAndReportsFootprint) {
  std::unique_ptr<ModelInstance> m;
  ASSERT_TRUE(backend_->Load(Spec("a"), &m).ok());
  std::vector<Tensor> out;
  ASSERT_TRUE(m->Run({Input(2, 0)}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 4, 32, 32}));
  EXPECT_EQ(m->MemoryFootprintBytes(), models::DemoSegmentationParameterCount(Small(1)) * 4);
  EXPECT_EQ(m->device(), "cpu");
}

TEST_F(LibTorchBackendTest, DemoGenerationIsDeterministicPerSeed) {
  std::unique_ptr<ModelInstance> a, b, c;
  ASSERT_TRUE(backend_->Load(Spec("a"), &a).ok());
  ASSERT_TRUE(backend_->Load(Spec("b"), &b).ok());
  ASSERT_TRUE(backend_->Load(Spec("c"), &c).ok());
  std::vector<Tensor> oa, ob, oc;
  ASSERT_TRUE(a->Run({Input(1, 1)}, &oa).ok());
  ASSERT_TRUE(b->Run({Input(1, 1)}, &ob).ok());
  ASSERT_TRUE(c->Run({Input(1, 1)}, &oc).ok());
  EXPECT_EQ(MaxDiff(oa[0], ob[0]), 0.0);
  EXPECT_GT(MaxDiff(oa[0], oc[0]), 1e-3);  // another seed, other weights
}

// The descriptor reader needs yaml-cpp, which the torch-only build (GPU hosts) goes without.
#ifndef EPARA_TORCH_ONLY_BUILD
TEST_F(LibTorchBackendTest, DemoDescriptorCarriesTheInstanceCount) {
  models::DemoSegmentationOptions o = Small(1234);
  o.instances = 3;
  ASSERT_TRUE(models::WriteDemoSegmentationModel((*dir_ / "d").string(), o).ok());
  ModelDescriptor three, one;
  ASSERT_TRUE(LoadModelDescriptor((*dir_ / "d" / "seg-demo" / "model.yaml").string(), &three)
                  .ok());
  ASSERT_TRUE(LoadModelDescriptor((*dir_ / "a" / "seg-demo" / "model.yaml").string(), &one)
                  .ok());
  EXPECT_EQ(three.instances.count, 3);
  EXPECT_EQ(one.instances.count, 1);
  EXPECT_EQ(three.instances.threads, 0);  // cores / count, decided where it is loaded
}
#endif

TEST_F(LibTorchBackendTest, BatchedRowsEqualSingleRuns) {
  std::unique_ptr<ModelInstance> m;
  ASSERT_TRUE(backend_->Load(Spec("a"), &m).ok());
  Tensor batch = Input(3, 2);
  std::vector<Tensor> together;
  ASSERT_TRUE(m->Run({batch}, &together).ok());
  for (int r = 0; r < 3; ++r) {
    std::vector<Tensor> alone;
    ASSERT_TRUE(m->Run({batch.SliceRows(r, r + 1)}, &alone).ok());
    EXPECT_LT(MaxDiff(together[0].SliceRows(r, r + 1), alone[0]), 1e-4) << "row " << r;
  }
}

TEST_F(LibTorchBackendTest, TupleOutputsAndIntegerInputs) {
  std::unique_ptr<ModelInstance> m;
  LoadSpec spec{"tensor-demo",   {(*dir_ / "a" / "tensor-demo" / "model.pt").string()},
                "cpu",           1,
                {"a", "b", "c"}, {"sum", "positive"}};
  ASSERT_TRUE(backend_->Load(spec, &m).ok());
  Tensor a(DataType::kFp32, {1, 4}), b(DataType::kInt64, {1, 4}), c(DataType::kUInt8, {1, 4});
  const float av[] = {0.5f, -10, 1, 2};
  const int64_t bv[] = {1, 2, -3, 4};
  const uint8_t cv[] = {0, 1, 2, 255};
  for (int i = 0; i < 4; ++i) {
    a.data<float>()[i] = av[i];
    b.data<int64_t>()[i] = bv[i];
    c.data<uint8_t>()[i] = cv[i];
  }
  std::vector<Tensor> out;
  ASSERT_TRUE(m->Run({a, b, c}, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].dtype(), DataType::kFp32);
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 1.5f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], -7.0f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[2], 0.0f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[3], 261.0f);
  EXPECT_EQ(out[1].dtype(), DataType::kInt64);
  EXPECT_EQ(out[1].data<int64_t>()[0], 2);
}

TEST_F(LibTorchBackendTest, FailuresAreStatusesNotAborts) {
  std::unique_ptr<ModelInstance> m;
  LoadSpec missing = Spec("a");
  missing.artifacts = {(*dir_ / "nope.pt").string()};
  EXPECT_EQ(backend_->Load(missing, &m).code(), StatusCode::kNotFound);

  const fs::path junk = *dir_ / "junk.pt";
  std::ofstream(junk) << "this is not a zip archive";
  LoadSpec bad = Spec("a");
  bad.artifacts = {junk.string()};
  Status s = backend_->Load(bad, &m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("TorchScript"), std::string::npos) << s.message();

  Status dev = backend_->Load(Spec("a", "tpu:0"), &m);
  EXPECT_EQ(dev.code(), StatusCode::kInvalidArgument) << dev.ToString();

  ASSERT_TRUE(backend_->Load(Spec("a"), &m).ok());
  std::vector<Tensor> out;
  Tensor wrong(DataType::kFp32, {1, 5, 32, 32});  // 5 channels into a 3-channel conv
  Status run = m->Run({wrong}, &out);
  EXPECT_EQ(run.code(), StatusCode::kInternal);
  EXPECT_NE(run.message().find("libtorch"), std::string::npos) << run.message();
  ASSERT_TRUE(m->Run({Input(1, 0)}, &out).ok());  // still usable afterwards
}

// Issue 5's spatial split: tiles with a halo over the receptive field, run separately and stitched,
// give the whole-image logits (and so the same mask), also for sizes the tiles do not divide.
TEST_F(LibTorchBackendTest, StitchedTilesEqualTheWholeImage) {
  models::DemoSegmentationOptions full;  // the real demo UNet (4 levels), any multiple-of-16 size
  ASSERT_TRUE(models::WriteDemoSegmentationModel((*dir_ / "split").string(), full).ok());
  std::unique_ptr<ModelInstance> m;
  ASSERT_TRUE(backend_->Load(Spec("split"), &m).ok());
  struct Size {
    int w, h, tx, ty;
  };
  for (const Size& z : {Size{512, 208, 2, 1}, Size{336, 400, 2, 2}, Size{464, 160, 3, 1}}) {
    Tensor image(DataType::kFp32, {1, 3, z.h, z.w});
    for (int64_t i = 0; i < image.num_elements(); ++i)
      image.data<float>()[i] = std::sin(0.013f * i) + 0.5f * std::cos(0.0007f * i);
    std::vector<Tensor> out;
    ASSERT_TRUE(m->Run({image}, &out).ok());
    const Tensor whole = out[0];
    std::vector<vision::Tile> tiles;
    ASSERT_TRUE(vision::PlanTiles(z.w, z.h, {z.tx, z.ty, 128, 16}, &tiles).ok());
    std::vector<Tensor> parts;
    for (const vision::Tile& t : tiles) {
      ASSERT_TRUE(m->Run({vision::CropImage(image, t.input)}, &out).ok());
      parts.push_back(out[0]);
    }
    Tensor stitched;
    ASSERT_TRUE(vision::StitchTiles(tiles, parts, z.w, z.h, &stitched).ok());
    ASSERT_EQ(stitched.shape(), whole.shape());
    double worst = 0;
    for (int64_t i = 0; i < whole.num_elements(); ++i) {
      const double a = whole.data<float>()[i], b = stitched.data<float>()[i];
      worst = std::max(worst, std::fabs(a - b) / std::max(1.0, std::fabs(a)));
    }
    EXPECT_LE(worst, 1e-5) << z.w << "x" << z.h;
    // The class mask (argmax over K) is identical.
    const int64_t k = whole.shape()[1], plane = static_cast<int64_t>(z.w) * z.h;
    int64_t differ = 0;
    for (int64_t p = 0; p < plane; ++p) {
      int64_t aw = 0, as = 0;
      for (int64_t c = 1; c < k; ++c) {
        if (whole.data<float>()[c * plane + p] > whole.data<float>()[aw * plane + p]) aw = c;
        if (stitched.data<float>()[c * plane + p] > stitched.data<float>()[as * plane + p]) as = c;
      }
      differ += aw != as;
    }
    EXPECT_EQ(differ, 0) << z.w << "x" << z.h;
  }
}

TEST_F(LibTorchBackendTest, CudaMatchesCpuWhenAGpuIsPresent) {
  bool has_cuda = false;
  for (const auto& d : backend_->Devices()) has_cuda = has_cuda || d.kind == DeviceKind::kCuda;
  std::unique_ptr<ModelInstance> m;
  if (!has_cuda) {
    EXPECT_EQ(backend_->Load(Spec("a", "cuda:0"), &m).code(), StatusCode::kUnavailable);
    GTEST_SKIP() << "no CUDA device (LibTorch built with CUDA: "
                 << (LibTorchBuiltWithCuda() ? "yes" : "no")
                 << "); cuda:0 correctly reported Unavailable";
  }
  std::unique_ptr<ModelInstance> cpu;
  ASSERT_TRUE(backend_->Load(Spec("a"), &cpu).ok());
  ASSERT_TRUE(backend_->Load(Spec("a", "cuda:0"), &m).ok());
  std::vector<Tensor> oc, og;
  ASSERT_TRUE(cpu->Run({Input(2, 3)}, &oc).ok());
  ASSERT_TRUE(m->Run({Input(2, 3)}, &og).ok());
  EXPECT_LT(MaxDiff(oc[0], og[0]), 1e-3);
}

class FutureBackend : public Backend {
 public:
  std::string name() const override { return "future"; }
  ApiVersion version() const override { return {kBackendApiMajor + 1, 0}; }
  std::vector<DeviceInfo> Devices() const override { return {}; }
  Status Load(const LoadSpec&, std::unique_ptr<ModelInstance>*) override { return Status::Ok(); }
};

TEST(BackendRegistryTest, RefusesOtherMajorVersionsAndDuplicates) {
  BackendRegistry r;
  EXPECT_EQ(r.Register(std::make_unique<FutureBackend>()).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(r.Register(CreateLibTorchBackend()).ok());
  EXPECT_EQ(r.Register(CreateLibTorchBackend()).code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.Get("libtorch"), nullptr);
  EXPECT_EQ(r.Get("future"), nullptr);
}

}  // namespace
}  // namespace epara::backend
