#include "formats/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace epara::formats {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> Bytes(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  return {b, b + n};
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() /
             ("epara_st_" + std::to_string(getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".safetensors"))
                .string();
  }
  void TearDown() override { fs::remove(path_); }
  // Writes [u64 len][header][data] verbatim.
  void WriteRaw(const std::string& header, size_t data_bytes, uint64_t claimed_len = UINT64_MAX) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    uint64_t len = claimed_len == UINT64_MAX ? header.size() : claimed_len;
    out.write(reinterpret_cast<const char*>(&len), 8);  // little-endian host
    out << header << std::string(data_bytes, '\0');
  }
  Status OpenStatus() {
    std::unique_ptr<SafetensorsFile> f;
    return SafetensorsFile::Open(path_, &f);
  }
  std::string path_;
};

TEST_F(SafetensorsTest, RoundTripsAndConvertsHalfPrecisionToFloat) {
  const float f32[4] = {1.5f, -2.0f, 0.0f, 3.25f};
  const uint16_t f16[3] = {0x3c00 /*1*/, 0xc000 /*-2*/, 0x0001 /*2^-24 subnormal*/};
  const uint16_t bf16[2] = {0x3f80 /*1*/, 0xc0a0 /*-5*/};
  const int64_t i64[2] = {7, -9};
  ASSERT_TRUE(WriteSafetensors(path_,
                               {{"a", StDtype::kF32, {2, 2}, Bytes(f32, sizeof f32)},
                                {"h", StDtype::kF16, {3}, Bytes(f16, sizeof f16)},
                                {"b", StDtype::kBF16, {2}, Bytes(bf16, sizeof bf16)},
                                {"i", StDtype::kI64, {2}, Bytes(i64, sizeof i64)}},
                               {{"format", "pt"}})
                  .ok());
  std::unique_ptr<SafetensorsFile> f;
  ASSERT_TRUE(SafetensorsFile::Open(path_, &f).ok());
  EXPECT_EQ(f->tensors().size(), 4u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  const StTensorInfo* a = f->Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 2}));
  float out[4];
  ASSERT_TRUE(ToFloat32(a->dtype, f->Data(*a), 4, out).ok());
  EXPECT_EQ(out[3], 3.25f);
  const StTensorInfo* h = f->Find("h");
  ASSERT_TRUE(ToFloat32(h->dtype, f->Data(*h), 3, out).ok());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], std::ldexp(1.0f, -24));
  const StTensorInfo* b = f->Find("b");
  ASSERT_TRUE(ToFloat32(b->dtype, f->Data(*b), 2, out).ok());
  EXPECT_EQ(out[1], -5.0f);
  EXPECT_EQ(std::memcmp(f->Data(*f->Find("i")), i64, sizeof i64), 0);
  EXPECT_EQ(f->Find("missing"), nullptr);
  EXPECT_EQ(ToFloat32(StDtype::kI64, f->Data(*f->Find("i")), 2, out).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SafetensorsTest, EveryMalformedFileIsAClearError) {
  struct Case {
    std::string header;
    size_t data;
    uint64_t claimed;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8, 1000,
       "header length 1000 exceeds the file"},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8, 200ull << 20,
       "100 MB limit"},
      {R"({"w":{"dtype":"F32",)", 8, UINT64_MAX, "not valid JSON"},
      {R"([1,2,3])", 0, UINT64_MAX, "not a JSON object"},
      {R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8, UINT64_MAX, "tensor 'w': missing dtype"},
      {R"({"w":{"dtype":"F8","shape":[2],"data_offsets":[0,8]}})", 8, UINT64_MAX,
       "unknown dtype 'F8'"},
      {R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8, UINT64_MAX, "non-negative"},
      {R"({"w":{"dtype":"F32","shape":[2]}})", 8, UINT64_MAX, "data_offsets must be"},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 8, UINT64_MAX, "out of range"},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, UINT64_MAX, "out of range"},
      {R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, UINT64_MAX,
       "do not match shape [3] x F32 = 12"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       8, UINT64_MAX, "overlaps"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8, UINT64_MAX,
       "hole at byte 0"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8, UINT64_MAX,
       "4 unindexed trailing bytes"},
      {R"({"__metadata__":{"k":1}})", 0, UINT64_MAX, "__metadata__ value 'k'"},
  };
  for (const Case& c : cases) {
    WriteRaw(c.header, c.data, c.claimed);
    Status s = OpenStatus();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.header;
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << c.header << " -> " << s.message();
    EXPECT_NE(s.message().find(path_), std::string::npos) << "error must name the file";
  }
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << "abc";
  EXPECT_NE(OpenStatus().message().find("too small"), std::string::npos);
  fs::remove(path_);
  EXPECT_EQ(OpenStatus().code(), StatusCode::kNotFound);
}

TEST_F(SafetensorsTest, WriterRejectsSizeMismatch) {
  EXPECT_EQ(WriteSafetensors(path_, {{"w", StDtype::kF32, {3}, std::vector<uint8_t>(8)}}).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace epara::formats
