#include "engine/model_io.h"

#include <gtest/gtest.h>

namespace epara::engine {
namespace {

backend::ModelSignature AddSignature(int64_t batch_dim) {
  backend::ModelSignature s;
  s.inputs = {{"a", DataType::kFp32, {batch_dim, 4}}, {"b", DataType::kInt64, {batch_dim, 4}}};
  s.outputs = {{"sum", DataType::kFp32, {batch_dim, -1}}};
  return s;
}

ModelDescriptor Batched(int max_batch) {
  ModelDescriptor d;
  d.name = "m";
  d.directory = "/models/m";
  d.batching.max_batch_size = max_batch;
  return d;
}

TEST(ModelIoTest, OmittedTensorsComeFromTheModelWithoutTheBatchDimension) {
  ModelDescriptor d = Batched(8);
  ASSERT_TRUE(ResolveModelIo(AddSignature(-1), &d).ok());
  ASSERT_EQ(d.inputs.size(), 2u);
  EXPECT_EQ(d.inputs[0].name, "a");
  EXPECT_EQ(d.inputs[1].dtype, DataType::kInt64);
  EXPECT_EQ(d.inputs[1].dims, (std::vector<int64_t>{4}));
  EXPECT_EQ(d.outputs[0].dims, (std::vector<int64_t>{-1}));

  ModelDescriptor unbatched = Batched(0);  // without batching every dim is the model's
  ASSERT_TRUE(ResolveModelIo(AddSignature(2), &unbatched).ok());
  EXPECT_EQ(unbatched.inputs[0].dims, (std::vector<int64_t>{2, 4}));
}

TEST(ModelIoTest, StatedTensorsAreCheckedAndOpenDimsTakeTheModelsValue) {
  ModelDescriptor d = Batched(8);
  d.inputs = {{"b", DataType::kInt64, {-1}}, {"a", DataType::kFp32, {4}}};
  d.outputs = {{"sum", DataType::kFp32, {4}}};
  ASSERT_TRUE(ResolveModelIo(AddSignature(-1), &d).ok());
  EXPECT_EQ(d.inputs[0].name, "b");  // the descriptor's order stays
  EXPECT_EQ(d.inputs[0].dims, (std::vector<int64_t>{4}));
  EXPECT_EQ(d.outputs[0].dims, (std::vector<int64_t>{4}));  // narrower than the model: kept
}

TEST(ModelIoTest, DisagreementsNameTheFileTheFieldAndTheModelsDeclaration) {
  struct Case {
    TensorSpec input;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {{"a", DataType::kFp64, {4}},
            "/models/m/model.yaml: field 'inputs[0].datatype': FP64 disagrees with the model's "
            "input 'a' FP32 [-1, 4]"},
           {{"a", DataType::kFp32, {5}}, "field 'inputs[0].shape': [5] disagrees"},
           {{"a", DataType::kFp32, {4, 1}}, "field 'inputs[0].shape': [4, 1] disagrees"},
           {{"z", DataType::kFp32, {4}}, "field 'inputs[0].name': the model has no input 'z'"}}) {
    ModelDescriptor d = Batched(8);
    d.inputs = {c.input};
    Status s = ResolveModelIo(AddSignature(-1), &d);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(c.expected), std::string::npos) << s.message();
  }
}

TEST(ModelIoTest, BatchingNeedsAnOpenBatchDimension) {
  ModelDescriptor d = Batched(8);
  Status s = ResolveModelIo(AddSignature(1), &d);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("batching.max_batch_size"), std::string::npos) << s.message();
  ModelDescriptor one = Batched(1);  // a model fixed at batch 1 serves max_batch_size 1
  EXPECT_TRUE(ResolveModelIo(AddSignature(1), &one).ok());
}

TEST(ModelIoTest, SegmentationChecksRunOnTheCompletedDescriptor) {
  ModelDescriptor d = Batched(1);
  d.task = TaskType::kSegmentation;
  d.preprocess = ImagePreprocess{64, 64};
  backend::ModelSignature sig;
  sig.inputs = {{"input", DataType::kFp32, {1, 3, 64, 64}}};
  sig.outputs = {{"output", DataType::kFp32, {1, 1, 64, 64}}};
  d.postprocess.kind = SegmentationPostprocess::Kind::kProbability;
  EXPECT_TRUE(ResolveModelIo(sig, &d).ok());

  ModelDescriptor wrong = Batched(1);
  wrong.task = TaskType::kSegmentation;
  wrong.preprocess = ImagePreprocess{32, 32};
  Status s = ResolveModelIo(sig, &wrong);
  EXPECT_NE(s.message().find("inputs[0].shape"), std::string::npos) << s.message();
  ModelDescriptor argmax_labels = Batched(1);
  argmax_labels.task = TaskType::kSegmentation;
  argmax_labels.preprocess = ImagePreprocess{64, 64};
  argmax_labels.postprocess.kind = SegmentationPostprocess::Kind::kSigmoid;
  argmax_labels.labels = {"a", "b", "c"};
  s = ResolveModelIo(sig, &argmax_labels);
  EXPECT_NE(s.message().find("'labels'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace epara::engine
