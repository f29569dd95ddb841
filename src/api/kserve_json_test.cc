#include "api/kserve_json.h"

#include <cstring>

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
  ASSERT_EQ(r.requested_outputs.size(), 1u);
  EXPECT_EQ(r.requested_outputs[0].name, "y");
  EXPECT_EQ(r.requested_outputs[0].binary, -1);
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
  auto j = nlohmann::json::parse(KServeInferResponse("m", "1", "id9", {{"y", &t}}));
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
  auto j = nlohmann::json::parse(KServeInferResponse("m", "1", "", {{"h", &t}}));
  EXPECT_EQ(j["outputs"][0]["datatype"], "FP16");
  EXPECT_EQ(j["outputs"][0]["data"][0].get<double>(), 1.5);
  EXPECT_NEAR(j["outputs"][0]["data"][1].get<double>(), -0.1, 1e-4);
  EXPECT_FALSE(
      ParseKServeInferRequest(
          R"({"inputs": [{"name": "h", "shape": [1], "datatype": "FP16", "data": [true]}]})", &r)
          .ok());
}

TEST(KServeBinaryTest, BinaryInputsRoundTripEveryDatatypeBitForBit) {
  std::vector<NamedTensor> inputs;
  const DataType types[] = {DataType::kBool,  DataType::kUInt8, DataType::kInt8, DataType::kInt32,
                            DataType::kInt64, DataType::kFp16,  DataType::kFp32, DataType::kFp64};
  for (DataType t : types) {
    Tensor x(t, {2, 3});
    for (size_t b = 0; b < x.byte_size(); ++b)  // BOOL must stay 0/1; others take any bytes
      x.raw()[b] = static_cast<std::byte>(t == DataType::kBool ? b % 2 : (b * 37 + 11) % 256);
    inputs.push_back({std::string(DataTypeName(t)), x});
  }
  size_t json_length = 0;
  const std::string body = KServeBinaryRequest(inputs, /*binary_outputs=*/true, &json_length);
  ASSERT_LT(json_length, body.size());
  KServeInferRequest r;
  ASSERT_TRUE(ParseKServeInferRequest(body, json_length, &r).ok());
  EXPECT_TRUE(r.binary_output);
  ASSERT_EQ(r.inputs.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(r.inputs[i].name, inputs[i].name);
    ASSERT_EQ(r.inputs[i].tensor.dtype(), inputs[i].tensor.dtype());
    EXPECT_EQ(r.inputs[i].tensor.shape(), inputs[i].tensor.shape());
    EXPECT_EQ(
        std::memcmp(r.inputs[i].tensor.raw(), inputs[i].tensor.raw(), inputs[i].tensor.byte_size()),
        0)
        << inputs[i].name;
  }
}

TEST(KServeBinaryTest, JsonAndBinaryInputsMixAndOutputsChooseTheirForm) {
  // One JSON input, one binary input; the request default is binary, one output opts out.
  Tensor b(DataType::kFp32, {2});
  b.data<float>()[0] = 0.1f;
  b.data<float>()[1] = -7.25f;
  const std::string head =
      R"({"parameters": {"binary_data_output": true},
          "inputs": [{"name": "a", "shape": [2], "datatype": "INT32", "data": [4, 5]},
                     {"name": "b", "shape": [2], "datatype": "FP32",
                      "parameters": {"binary_data_size": 8}}],
          "outputs": [{"name": "y", "parameters": {"binary_data": false}}, {"name": "z"}]})";
  const std::string body = head + std::string(reinterpret_cast<const char*>(b.raw()), 8);
  KServeInferRequest r;
  ASSERT_TRUE(ParseKServeInferRequest(body, head.size(), &r).ok());
  EXPECT_EQ(r.inputs[0].tensor.data<int32_t>()[1], 5);
  EXPECT_EQ(r.inputs[1].tensor.data<float>()[0], 0.1f);
  EXPECT_EQ(r.inputs[1].tensor.data<float>()[1], -7.25f);
  ASSERT_EQ(r.requested_outputs.size(), 2u);
  EXPECT_FALSE(r.OutputBinary(&r.requested_outputs[0]));
  EXPECT_TRUE(r.OutputBinary(&r.requested_outputs[1]));
  EXPECT_TRUE(r.OutputBinary(nullptr));

  // The response: y as JSON numbers, z appended as bytes after the JSON part.
  Tensor y(DataType::kInt64, {2}), z(DataType::kFp16, {3});
  y.data<int64_t>()[0] = -9;
  for (int i = 0; i < 3; ++i) z.data<uint16_t>()[i] = static_cast<uint16_t>(0x3c00 + i);
  size_t json_length = 0;
  const std::string res =
      KServeInferResponse("m", "1", "", {{"y", &y, false}, {"z", &z, true}}, &json_length);
  ASSERT_EQ(res.size(), json_length + 6);
  auto j = nlohmann::json::parse(res.substr(0, json_length));
  EXPECT_EQ(j["outputs"][0]["data"], nlohmann::json::array({-9, 0}));
  EXPECT_EQ(j["outputs"][1]["parameters"]["binary_data_size"], 6);
  EXPECT_FALSE(j["outputs"][1].contains("data"));
  std::vector<NamedTensor> back;
  ASSERT_TRUE(ParseKServeInferResponse(res, json_length, &back).ok());
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].tensor.data<int64_t>()[0], -9);
  EXPECT_EQ(back[1].tensor.data<uint16_t>()[2], 0x3c02);
  // Nothing binary: no JSON length to announce.
  KServeInferResponse("m", "1", "", {{"y", &y, false}}, &json_length);
  EXPECT_EQ(json_length, 0u);
}

TEST(KServeBinaryTest, MalformedBinaryRequestsAreRejectedWithPreciseMessages) {
  const auto input = [](const std::string& params) {
    return R"({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", )" + params + "}]}";
  };
  const std::string eight(8, '\0');
  const struct {
    std::string head, tail, expect;
  } cases[] = {
      {input(R"("parameters": {"binary_data_size": 4})"), eight.substr(0, 4), "need 8"},
      {input(R"("parameters": {"binary_data_size": 8})"), eight.substr(0, 5), "holds 5 binary"},
      {input(R"("parameters": {"binary_data_size": 8})"), eight + "x", "1 bytes of binary data"},
      {input(R"("data": [1, 2], "parameters": {"binary_data_size": 8})"), eight, "both 'data'"},
      {input(R"("parameters": {"binary_data_size": -8})"), eight, "non-negative integer"},
      {input(R"("parameters": 3)"), eight, "'parameters' must be an object"},
      {input(R"("data": [1, 2])"), eight, "8 bytes of binary data"},
      {R"({"inputs": [{"name": "x", "shape": [2], "datatype": "BOOL",
                       "parameters": {"binary_data_size": 2}}]})",
       std::string("\x01\x02", 2), "bytes 0 or 1"},
      {R"({"parameters": {"binary_data_output": "yes"},
           "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]})",
       "", "'binary_data_output' must be a boolean"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}],
           "outputs": [{"name": "y", "parameters": {"binary_data": 1}}]})",
       "", "output 'y': 'binary_data' must be a boolean"},
  };
  for (const auto& c : cases) {
    KServeInferRequest r;
    const Status s = ParseKServeInferRequest(c.head + c.tail, c.head.size(), &r);
    ASSERT_FALSE(s.ok()) << c.head;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << c.head << " -> " << s.message();
  }
  // The header's value.
  size_t n = 0;
  EXPECT_TRUE(ParseInferenceHeaderLength("", 40, &n).ok());
  EXPECT_EQ(n, 40u);
  EXPECT_TRUE(ParseInferenceHeaderLength("12", 40, &n).ok());
  EXPECT_EQ(n, 12u);
  EXPECT_FALSE(ParseInferenceHeaderLength("41", 40, &n).ok());
  EXPECT_FALSE(ParseInferenceHeaderLength("-1", 40, &n).ok());
  EXPECT_FALSE(ParseInferenceHeaderLength("1e3", 4000, &n).ok());
  EXPECT_FALSE(ParseInferenceHeaderLength("99999999999999999999999", 40, &n).ok());
}

}  // namespace
}  // namespace epara::api
