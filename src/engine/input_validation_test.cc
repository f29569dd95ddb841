#include "engine/input_validation.h"

#include <gtest/gtest.h>

namespace epara::engine {
namespace {

ModelDescriptor TwoInputs(int max_batch) {
  ModelDescriptor d;
  d.name = "m";
  d.inputs = {{"a", DataType::kFp32, {4}}, {"b", DataType::kInt64, {-1, 2}}};
  d.batching.max_batch_size = max_batch;
  return d;
}

std::vector<NamedTensor> Inputs(std::vector<int64_t> a_shape, std::vector<int64_t> b_shape,
                                DataType b_type = DataType::kInt64) {
  std::vector<NamedTensor> v;
  v.push_back({"b", Tensor(b_type, b_shape)});
  v.push_back({"a", Tensor(DataType::kFp32, a_shape)});
  return v;
}

TEST(InputValidationTest, ReordersToDescriptorOrderAndReportsRows) {
  auto in = Inputs({3, 4}, {3, 7, 2});
  std::vector<Tensor> ordered;
  int64_t rows = 0;
  ASSERT_TRUE(ValidateInputs(TwoInputs(8), in, &ordered, &rows).ok());
  EXPECT_EQ(rows, 3);
  EXPECT_EQ(ordered[0].dtype(), DataType::kFp32);
  EXPECT_EQ(ordered[1].shape(), (std::vector<int64_t>{3, 7, 2}));
}

TEST(InputValidationTest, RejectsEveryKindOfMismatchWithTheInputName) {
  struct Case {
    std::vector<NamedTensor> in;
    std::string expect;
  };
  std::vector<Case> cases;
  cases.push_back({Inputs({1, 5}, {1, 7, 2}), "input 'a': shape"});
  cases.push_back({Inputs({1, 4}, {1, 7, 3}), "input 'b': shape"});
  cases.push_back({Inputs({1, 4}, {1, 7, 2}, DataType::kInt32), "input 'b': datatype INT32"});
  cases.push_back({Inputs({9, 4}, {9, 7, 2}), "batch dimension 9"});
  cases.push_back({Inputs({2, 4}, {3, 7, 2}), "disagree on the batch"});
  cases.push_back({Inputs({4}, {1, 7, 2}), "input 'a': shape"});
  std::vector<NamedTensor> unknown = Inputs({1, 4}, {1, 7, 2});
  unknown[0].name = "c";
  cases.push_back({std::move(unknown), "unknown input 'c'"});
  std::vector<NamedTensor> twice;
  twice.push_back({"a", Tensor(DataType::kFp32, {1, 4})});
  twice.push_back({"a", Tensor(DataType::kFp32, {1, 4})});
  cases.push_back({std::move(twice), "given twice"});
  std::vector<NamedTensor> one;
  one.push_back({"a", Tensor(DataType::kFp32, {1, 4})});
  cases.push_back({std::move(one), "expects 2 input(s), got 1"});
  for (auto& c : cases) {
    std::vector<Tensor> ordered;
    int64_t rows = 0;
    Status s = ValidateInputs(TwoInputs(8), c.in, &ordered, &rows);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

TEST(InputValidationTest, UnbatchedModelsTakeExactShapes) {
  auto in = Inputs({4}, {5, 2});
  std::vector<Tensor> ordered;
  int64_t rows = 0;
  ASSERT_TRUE(ValidateInputs(TwoInputs(0), in, &ordered, &rows).ok());
  EXPECT_EQ(rows, 1);
}

}  // namespace
}  // namespace epara::engine
