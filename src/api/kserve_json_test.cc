#include "api/kserve_json.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace epara::api {
namespace {

TEST(KServeJsonTest, ParsesFlatAndNestedDataOfEveryType) {
  const std::string body = R"({"id": "r1", "inputs": [
      {"name": "f", "shape": [2, 2], "datatype": "FP32", "data": [[1.5, 2], [3, -4]]},
      {"name": "i", "shape": [3], "datatype": "INT64", "data": [1, -2, 9007199254740993]},
      {"name": "u", "shape": [2], "datatype": "UINT8", "data": [0, 255]},
      {"name": "b", "shape": [2], "datatype": "BOOL", "data": [true, false]}],
    "outputs": [{"name": "y"}]})";
  KServeInferRequest r;
  ASSERT_TRUE(ParseKServeInferRequest(body, &r).ok());
  EXPECT_EQ(r.id, "r1");
  ASSERT_EQ(r.inputs.size(), 4u);
  EXPECT_EQ(r.inputs[0].tensor.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(r.inputs[0].tensor.data<float>()[3], -4.0f);
  EXPECT_EQ(r.inputs[1].tensor.data<int64_t>()[2], 9007199254740993LL);  // exact beyond 2^53
  EXPECT_EQ(r.inputs[2].tensor.data<uint8_t>()[1], 255);
  EXPECT_EQ(r.inputs[3].tensor.data<uint8_t>()[0], 1);
  EXPECT_EQ(r.requested_outputs, (std::vector<std::string>{"y"}));
}

TEST(KServeJsonTest, RejectsMalformedRequestsWithPreciseMessages) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "not valid JSON"},
      {"[1]", "JSON object"},
      {R"({"inputs": []})", "'inputs' must be a non-empty array"},
      {R"({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]})", "name"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "BF16", "data": [1]}]})",
       "unsupported datatype 'BF16'"},
      {R"({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]})",
       "non-negative"},
      {R"({"inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "data": [1, 2]}]})",
       "has 2 elements, shape [3] needs 3"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": ["a"]}]})",
       "numbers or booleans"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "UINT8", "data": [256]}]})",
       "out of range"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": [-129]}]})",
       "out of range"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1.5]}]})",
       "not an integer"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "BOOL", "data": [1]}]})",
       "true/false"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]})", "'data' is missing"},
      {R"({"inputs": [{"name": "x", "shape": [4294967296, 4294967296, 4294967296], "datatype": "FP32", "data": []}]})",
       "too large"},
      {R"({"id": 5, "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]})",
       "'id'"},
  };
  for (const auto& [body, expect] : cases) {
    KServeInferRequest r;
    Status s = ParseKServeInferRequest(body, &r);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << body;
    EXPECT_NE(s.message().find(expect), std::string::npos) << body << " -> " << s.message();
  }
}

TEST(KServeJsonTest, ResponseCarriesShapesTypesAndData) {
  Tensor t(DataType::kInt64, {1, 2});
  t.data<int64_t>()[0] = 7;
  t.data<int64_t>()[1] = -3;
  auto j = nlohmann::json::parse(KServeInferResponse("m", "1", "id9", {"y"}, {&t}));
  EXPECT_EQ(j["model_name"], "m");
  EXPECT_EQ(j["id"], "id9");
  EXPECT_EQ(j["outputs"][0]["datatype"], "INT64");
  EXPECT_EQ(j["outputs"][0]["shape"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(j["outputs"][0]["data"], nlohmann::json::array({7, -3}));
}

TEST(KServeJsonTest, Fp16TravelsAsNumbersAndIsStoredAsHalves) {
  KServeInferRequest r;
  ASSERT_TRUE(ParseKServeInferRequest(
                  R"({"inputs": [{"name": "h", "shape": [3], "datatype": "FP16",
                                  "data": [1.5, -0.1, 70000]}]})",
                  &r)
                  .ok());
  const Tensor& t = r.inputs[0].tensor;
  ASSERT_EQ(t.dtype(), DataType::kFp16);
  EXPECT_EQ(t.byte_size(), 6u);
  EXPECT_EQ(t.data<uint16_t>()[0], 0x3e00);  // 1.5
  EXPECT_EQ(t.data<uint16_t>()[1], 0xae66);  // -0.1 rounded to the nearest half
  EXPECT_EQ(t.data<uint16_t>()[2], 0x7c00);  // beyond 65504: infinity
  auto j = nlohmann::json::parse(KServeInferResponse("m", "1", "", {"h"}, {&t}));
  EXPECT_EQ(j["outputs"][0]["datatype"], "FP16");
  EXPECT_EQ(j["outputs"][0]["data"][0].get<double>(), 1.5);
  EXPECT_NEAR(j["outputs"][0]["data"][1].get<double>(), -0.1, 1e-4);
  EXPECT_FALSE(
      ParseKServeInferRequest(
          R"({"inputs": [{"name": "h", "shape": [1], "datatype": "FP16", "data": [true]}]})", &r)
          .ok());
}

}  // namespace
}  // namespace epara::api
