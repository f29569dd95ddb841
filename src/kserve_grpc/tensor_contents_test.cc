#include "kserve_grpc/tensor_contents.h"

#include <gtest/gtest.h>

#include <cstring>

namespace epara::kserve_grpc {
namespace {

using Request = inference::ModelInferRequest;

Request::InferInputTensor* AddInput(Request* r, const std::string& name, const std::string& dtype,
                                    std::vector<int64_t> shape) {
  auto* in = r->add_inputs();
  in->set_name(name);
  in->set_datatype(dtype);
  for (int64_t d : shape) in->add_shape(d);
  return in;
}

TEST(TensorContentsTest, RawAndTypedContentsBecomeTheSameTensors) {
  Request typed, raw;
  auto* a = AddInput(&typed, "a", "FP32", {1, 3});
  for (float v : {1.5f, -2.0f, 3.25f}) a->mutable_contents()->add_fp32_contents(v);
  auto* b = AddInput(&typed, "b", "INT64", {3});
  for (int64_t v : {int64_t{1} << 40, int64_t{-7}, int64_t{0}})
    b->mutable_contents()->add_int64_contents(v);
  auto* c = AddInput(&typed, "c", "UINT8", {2});
  for (uint32_t v : {0u, 255u}) c->mutable_contents()->add_uint_contents(v);
  auto* d = AddInput(&typed, "d", "BOOL", {2});
  for (bool v : {true, false}) d->mutable_contents()->add_bool_contents(v);
  auto* e = AddInput(&typed, "e", "INT8", {2});
  for (int v : {-128, 127}) e->mutable_contents()->add_int_contents(v);
  auto* f = AddInput(&typed, "f", "INT32", {1});
  f->mutable_contents()->add_int_contents(-2000000000);
  auto* g = AddInput(&typed, "g", "FP64", {1});
  g->mutable_contents()->add_fp64_contents(0.1);
  std::vector<NamedTensor> from_typed;
  ASSERT_TRUE(InputsFromProto(typed, &from_typed).ok());
  ASSERT_EQ(from_typed.size(), 7u);
  EXPECT_EQ(from_typed[0].tensor.shape(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(from_typed[0].tensor.data<float>()[2], 3.25f);
  EXPECT_EQ(from_typed[1].tensor.data<int64_t>()[0], int64_t{1} << 40);
  EXPECT_EQ(from_typed[2].tensor.data<uint8_t>()[1], 255);
  EXPECT_EQ(from_typed[3].tensor.data<uint8_t>()[0], 1);
  EXPECT_EQ(from_typed[4].tensor.data<int8_t>()[0], -128);
  EXPECT_EQ(from_typed[5].tensor.data<int32_t>()[0], -2000000000);
  EXPECT_EQ(from_typed[6].tensor.data<double>()[0], 0.1);
  // The same values as raw little-endian bytes.
  for (const NamedTensor& t : from_typed) {
    auto* in =
        AddInput(&raw, t.name, std::string(DataTypeName(t.tensor.dtype())), t.tensor.shape());
    (void)in;
    raw.add_raw_input_contents(reinterpret_cast<const char*>(t.tensor.raw()), t.tensor.byte_size());
  }
  std::vector<NamedTensor> from_raw;
  // FP16 comes only raw: two half-precision values (1.0, -2.0).
  auto* h = AddInput(&raw, "h", "FP16", {2});
  (void)h;
  const uint16_t halves[2] = {0x3C00, 0xC000};
  raw.add_raw_input_contents(reinterpret_cast<const char*>(halves), sizeof halves);
  ASSERT_TRUE(InputsFromProto(raw, &from_raw).ok());
  ASSERT_EQ(from_raw.size(), 8u);
  EXPECT_EQ(from_raw[7].tensor.dtype(), DataType::kFp16);
  EXPECT_EQ(from_raw[7].tensor.data<uint16_t>()[1], 0xC000);
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(from_raw[i].name, from_typed[i].name);
    ASSERT_EQ(from_raw[i].tensor.byte_size(), from_typed[i].tensor.byte_size());
    EXPECT_EQ(std::memcmp(from_raw[i].tensor.raw(), from_typed[i].tensor.raw(),
                          from_raw[i].tensor.byte_size()),
              0);
  }
  // Outputs go back as raw contents with their metadata.
  inference::ModelInferResponse response;
  AddRawOutput("y", from_typed[0].tensor, &response);
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).datatype(), "FP32");
  EXPECT_EQ(response.outputs(0).shape_size(), 2);
  EXPECT_EQ(response.raw_output_contents(0).size(), 12u);
}

TEST(TensorContentsTest, MalformedInputsAreClearErrors) {
  struct Case {
    std::string expect;
    std::function<void(Request*)> build;
  } cases[] = {
      {"unsupported", [](Request* r) { AddInput(r, "a", "BYTES", {1}); }},
      {"negative", [](Request* r) { AddInput(r, "a", "FP32", {-1}); }},
      {"needs 2 elements",
       [](Request* r) { AddInput(r, "a", "FP32", {2})->mutable_contents()->add_fp32_contents(1); }},
      {"contents field",  // the right count in the wrong field
       [](Request* r) {
         auto* c = AddInput(r, "a", "FP32", {1})->mutable_contents();
         c->add_int_contents(1);
       }},
      {"out of range",
       [](Request* r) {
         AddInput(r, "a", "INT8", {1})->mutable_contents()->add_int_contents(300);
       }},
      {"raw_input_contents has 1 entries for 2 inputs",
       [](Request* r) {
         AddInput(r, "a", "FP32", {1});
         AddInput(r, "b", "FP32", {1});
         r->add_raw_input_contents(std::string(4, '\0'));
       }},
      {"raw contents hold 3 bytes",
       [](Request* r) {
         AddInput(r, "a", "FP32", {1});
         r->add_raw_input_contents(std::string(3, '\0'));
       }},
      {"FP16 data must come as raw", [](Request* r) { AddInput(r, "a", "FP16", {1}); }},
      {"both raw_input_contents and typed",
       [](Request* r) {
         AddInput(r, "a", "FP32", {1})->mutable_contents()->add_fp32_contents(1);
         r->add_raw_input_contents(std::string(4, '\0'));
       }},
      {"shape is too large",
       [](Request* r) {
         AddInput(r, "a", "FP32", {1 << 30, 1 << 30, 1 << 30});
       }},
      {"has no name", [](Request* r) { AddInput(r, "", "FP32", {1}); }},
  };
  for (const Case& c : cases) {
    Request r;
    c.build(&r);
    std::vector<NamedTensor> out;
    Status s = InputsFromProto(r, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.expect;
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace epara::kserve_grpc
