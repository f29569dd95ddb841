#include "repo/model_descriptor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "repo/model_repository.h"

namespace epara {
namespace {

namespace fs = std::filesystem;

class DescriptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("epara_desc_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "model.pt") << "x";
  }
  void TearDown() override { fs::remove_all(dir_); }
  Status Parse(const std::string& yaml, ModelDescriptor* d) {
    return ParseModelDescriptor(yaml, "m/model.yaml", dir_.string(), d);
  }
  fs::path dir_;
};

const char* kValid = R"(
name: seg
task: segmentation
artifacts: [model.pt]
inputs: [{name: image, datatype: FP32, shape: [3, 64, 64]}]
outputs: [{name: logits, datatype: FP32, shape: [2, 64, 64]}]
batching: {max_batch_size: 4, max_queue_delay_ms: 1.5, max_queue_size: 10, slo_aware: true}
instances: {count: 2, device: cpu, threads: 1}
slo: {latency_ms: 100}
preprocess: {width: 64, height: 64, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], color: bgr}
labels: [bg, fg]
)";

TEST_F(DescriptorTest, ParsesAValidDescriptor) {
  ModelDescriptor d;
  ASSERT_TRUE(Parse(kValid, &d).ok());
  EXPECT_EQ(d.name, "seg");
  EXPECT_EQ(d.task, TaskType::kSegmentation);
  EXPECT_EQ(d.batching.max_batch_size, 4);
  EXPECT_EQ(d.batching.max_queue_delay_us, 1500);
  EXPECT_TRUE(d.batching.slo_aware);
  EXPECT_EQ(d.instances.count, 2);
  ASSERT_TRUE(d.preprocess.has_value());
  EXPECT_TRUE(d.preprocess->bgr);
  EXPECT_FLOAT_EQ(d.preprocess->std[1], 0.25f);
  EXPECT_EQ(d.artifacts[0], (dir_ / "model.pt").string());
  EXPECT_EQ(d.inputs[0].dims, (std::vector<int64_t>{3, 64, 64}));
}

// Each case replaces one line of the valid descriptor; the error must name the file and field.
struct BadCase {
  std::string from, to, field;
};

TEST_F(DescriptorTest, RejectsInvalidFieldsNamingFileAndField) {
  const std::vector<BadCase> cases = {
      {"name: seg", "name: a/b", "'name'"},
      {"name: seg", "nme: seg", "'nme'"},
      {"task: segmentation", "task: audio", "'task'"},
      {"artifacts: [model.pt]", "artifacts: [missing.pt]", "'artifacts[0]'"},
      {"artifacts: [model.pt]", "artifacts: []", "'artifacts'"},
      {"datatype: FP32, shape: [3, 64, 64]", "datatype: FP8, shape: [3, 64, 64]",
       "'inputs[0].datatype'"},
      {"shape: [3, 64, 64]", "shape: [3, 0, 64]", "'inputs[0].shape'"},
      {"shape: [3, 64, 64]", "shape: [3, x, 64]", "'inputs[0].shape'"},
      {"max_batch_size: 4", "max_batch_size: -1", "'batching.max_batch_size'"},
      {"max_queue_delay_ms: 1.5", "max_queue_delay_ms: fast", "'batching.max_queue_delay_ms'"},
      {"max_queue_size: 10", "max_queue_size: 0", "'batching.max_queue_size'"},
      {"slo_aware: true", "slo_aware: sometimes", "'batching.slo_aware'"},
      {"count: 2", "count: 0", "'instances.count'"},
      {"device: cpu", "device: tpu", "'instances.device'"},
      {"latency_ms: 100", "latency_ms: -1", "'slo'"},
      {"std: [0.25, 0.25, 0.25]", "std: [0.25, 0, 0.25]", "'preprocess.std'"},
      {"mean: [0.5, 0.5, 0.5]", "mean: [0.5, 0.5]", "'preprocess.mean'"},
      {"color: bgr", "color: hsv", "'preprocess.color'"},
      {"labels: [bg, fg]", "labels: [bg, fg, other]", "'labels'"},
      {"width: 64, height: 64", "width: 32, height: 64", "'inputs[0].shape'"},
  };
  for (const BadCase& c : cases) {
    std::string yaml = kValid;
    size_t pos = yaml.find(c.from);
    ASSERT_NE(pos, std::string::npos) << c.from;
    yaml.replace(pos, c.from.size(), c.to);
    ModelDescriptor d;
    Status s = Parse(yaml, &d);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.to;
    EXPECT_NE(s.message().find("m/model.yaml"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.field), std::string::npos)
        << "case '" << c.to << "': " << s.message();
  }
}

TEST_F(DescriptorTest, OnlyBackendsThatReadTheModelMayOmitTensors) {
  const std::string rest =
      "task: segmentation\nartifacts: [model.pt]\npreprocess: {width: 64, height: 64}\n"
      "postprocess: {kind: probability, threshold: 0.4}\n";
  ModelDescriptor d;
  Status s = Parse("name: a\nbackend: onnxruntime\n" + rest, &d);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(d.inputs.empty());
  EXPECT_EQ(d.postprocess.kind, SegmentationPostprocess::Kind::kProbability);
  EXPECT_FLOAT_EQ(d.postprocess.threshold, 0.4f);
  s = Parse("name: a\nbackend: libtorch\n" + rest, &d);
  EXPECT_NE(s.message().find("field 'inputs'"), std::string::npos) << s.message();
  s = Parse("name: a\nbackend: onnxruntime\ninputs: []\n" + rest, &d);  // stated, but empty
  EXPECT_NE(s.message().find("field 'inputs'"), std::string::npos) << s.message();
}

TEST_F(DescriptorTest, PostprocessFieldsAreChecked) {
  ModelDescriptor d;
  for (const auto& [post, field] : std::vector<std::pair<std::string, std::string>>{
           {"postprocess: {kind: softmax}", "'postprocess.kind'"},
           {"postprocess: {kind: sigmoid, threshold: 1.5}", "'postprocess.threshold'"},
           {"postprocess: {kind: sigmoid, cutoff: 0.5}", "'postprocess.cutoff'"},
           {"postprocess: {kind: sigmoid}", "'postprocess.kind'"}}) {  // 2 output channels
    std::string yaml = kValid;
    yaml += post + "\n";
    Status s = Parse(yaml, &d);
    EXPECT_NE(s.message().find(field), std::string::npos) << post << ": " << s.message();
  }
}

TEST_F(DescriptorTest, VariantSectionNamesTheServiceAndAccuracies) {
  ModelDescriptor d;
  std::string yaml = kValid;
  ASSERT_TRUE(
      Parse(yaml + "variant: {of: seg-any, accuracy: 0.97, min_accuracy: 0.95}\n", &d).ok());
  ASSERT_TRUE(d.variant.has_value());
  EXPECT_EQ(d.variant->of, "seg-any");
  EXPECT_DOUBLE_EQ(d.variant->accuracy, 0.97);
  EXPECT_DOUBLE_EQ(d.variant->min_accuracy, 0.95);
  EXPECT_NE(Parse(yaml + "variant: {accuracy: 0.9}\n", &d).message().find("'variant.of'"),
            std::string::npos);
  EXPECT_NE(
      Parse(yaml + "variant: {of: s, accuracy: 1.5}\n", &d).message().find("'variant.accuracy'"),
      std::string::npos);
  EXPECT_NE(Parse(yaml + "variant: {of: s, speed: 2}\n", &d).message().find("'variant.speed'"),
            std::string::npos);
}

TEST_F(DescriptorTest, LlmWeightAndKvCacheTypes) {
  // (std::string::append: GCC 12 warns falsely (-Wrestrict) on string + literal here.)
  const auto llm = [](const char* section) {
    return std::string("name: l\ntask: llm\nbackend: libtorch\nartifacts: [model.pt]\n")
        .append(section);
  };
  ModelDescriptor d;
  ASSERT_TRUE(Parse(llm(""), &d).ok());
  EXPECT_EQ(d.llm.weights, "f32");
  ASSERT_TRUE(Parse(llm("llm: {weights: q8_0, threads: 2}\n"), &d).ok());
  EXPECT_EQ(d.llm.weights, "q8_0");
  EXPECT_EQ(d.llm.threads, 2);
  ASSERT_TRUE(Parse(llm("llm: {weights: q4_k}\n"), &d).ok());
  EXPECT_EQ(d.llm.weights, "q4_k");
  EXPECT_NE(Parse(llm("llm: {weights: q5_k}\n"), &d).message().find("'llm.weights'"),
            std::string::npos);
  EXPECT_EQ(d.llm.kv_cache_dtype, "auto");
  ASSERT_TRUE(Parse(llm("llm: {kv_cache_dtype: f32}\n"), &d).ok());
  EXPECT_EQ(d.llm.kv_cache_dtype, "f32");
  EXPECT_NE(Parse(llm("llm: {kv_cache_dtype: q8_0}\n"), &d).message().find("'llm.kv_cache_dtype'"),
            std::string::npos);
  // SLO-sized steps need the time per output token they keep.
  EXPECT_FALSE(d.llm.slo_steps);
  EXPECT_NE(Parse(llm("llm: {slo_steps: true}\n"), &d).message().find("'llm.slo_steps'"),
            std::string::npos);
  ASSERT_TRUE(Parse(llm("slo: {ttft_ms: 900, tpot_ms: 40}\nllm: {slo_steps: true}\n"), &d).ok());
  EXPECT_TRUE(d.llm.slo_steps);
}

TEST_F(DescriptorTest, RejectsNonYamlAndNonMaps) {
  ModelDescriptor d;
  EXPECT_NE(Parse("name: [unclosed", &d).message().find("not valid YAML"), std::string::npos);
  EXPECT_NE(Parse("- a\n- b\n", &d).message().find("map"), std::string::npos);
  EXPECT_NE(Parse("task: tensor\n", &d).message().find("'name'"), std::string::npos);
}

TEST_F(DescriptorTest, RepositoryScanKeepsValidModelsAndReportsBadOnes) {
  for (const char* m : {"good", "bad", "dup"}) fs::create_directories(dir_ / "repo" / m);
  auto write = [&](const char* folder, const std::string& yaml) {
    std::ofstream(dir_ / "repo" / folder / "model.yaml") << yaml;
    std::ofstream(dir_ / "repo" / folder / "model.pt") << "x";
  };
  write("good", kValid);
  write("dup", kValid);  // same name "seg"
  write("bad", "name: b\ntask: nope\nartifacts: [model.pt]\n");
  fs::create_directories(dir_ / "repo" / "not_a_model");
  RepositoryScan scan;
  ASSERT_TRUE(ScanModelRepository((dir_ / "repo").string(), &scan).ok());
  ASSERT_EQ(scan.models.size(), 1u);
  ASSERT_EQ(scan.errors.size(), 2u);
  std::string all = scan.errors[0].message() + scan.errors[1].message();
  EXPECT_NE(all.find("bad/model.yaml: field 'task'"), std::string::npos) << all;
  EXPECT_NE(all.find("duplicate model name 'seg'"), std::string::npos) << all;
  EXPECT_EQ(ScanModelRepository((dir_ / "nope").string(), &scan).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace epara
