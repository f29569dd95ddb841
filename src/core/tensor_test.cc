#include "core/tensor.h"

#include <gtest/gtest.h>

namespace epara {
namespace {

TEST(DataTypeTest, ParsesEveryKServeNameAndRejectsOthers) {
  for (const char* name : {"BOOL", "UINT8", "INT8", "INT32", "INT64", "FP32", "FP64"}) {
    DataType d;
    ASSERT_TRUE(ParseDataType(name, &d).ok()) << name;
    EXPECT_EQ(DataTypeName(d), name);
  }
  DataType d;
  Status s = ParseDataType("FP8", &d);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("FP8"), std::string::npos);
}

TEST(TensorTest, ConcatThenSliceRoundTrips) {
  Tensor a(DataType::kInt32, {1, 3}), b(DataType::kInt32, {2, 3});
  for (int i = 0; i < 3; ++i) a.data<int32_t>()[i] = i;
  for (int i = 0; i < 6; ++i) b.data<int32_t>()[i] = 10 + i;
  Tensor c;
  ASSERT_TRUE(ConcatRows({&a, &b}, &c).ok());
  EXPECT_EQ(c.shape(), (std::vector<int64_t>{3, 3}));
  Tensor back = c.SliceRows(1, 3);
  ASSERT_EQ(back.byte_size(), b.byte_size());
  EXPECT_EQ(0, std::memcmp(back.raw(), b.raw(), b.byte_size()));
  EXPECT_EQ(c.SliceRows(0, 1).data<int32_t>()[2], 2);
}

TEST(TensorTest, ConcatRejectsMismatchedShapesAndTypes) {
  Tensor a(DataType::kFp32, {1, 3}), b(DataType::kFp32, {1, 4}), c(DataType::kInt64, {1, 3});
  Tensor out;
  EXPECT_EQ(ConcatRows({&a, &b}, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ConcatRows({&a, &c}, &out).code(), StatusCode::kInvalidArgument);
  Tensor scalar(DataType::kFp32, {});
  EXPECT_EQ(ConcatRows({&scalar, &scalar}, &out).code(), StatusCode::kInvalidArgument);
}

TEST(StatusTest, CarriesCodeMessageAndContext) {
  Status s = InvalidArgument("bad").WithContext("model x");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "invalid_argument: model x: bad");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

}  // namespace
}  // namespace epara
