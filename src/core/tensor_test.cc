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

TEST(TensorTest, SlicesAndCopiesShareStorageClonesDoNot) {
  Tensor t(DataType::kFp32, {3, 2});
  Tensor view = t.SliceRows(1, 2);
  Tensor copy = t;
  Tensor clone = t.Clone();
  view.data<float>()[1] = 7.0f;
  EXPECT_EQ(t.data<float>()[3], 7.0f);      // row 1, column 1
  EXPECT_EQ(copy.data<float>()[3], 7.0f);   // copies share
  EXPECT_EQ(clone.data<float>()[3], 0.0f);  // clones do not
  EXPECT_EQ(view.byte_size(), 8u);
  EXPECT_EQ(t.SliceRows(3, 3).byte_size(), 0u);
}

TEST(TensorTest, WrapKeepsTheOwnerAliveAndReshapeChecksCounts) {
  std::weak_ptr<std::vector<int64_t>> watch;
  Tensor wrapped;
  {
    auto owner = std::make_shared<std::vector<int64_t>>(std::vector<int64_t>{1, 2, 3, 4});
    watch = owner;
    wrapped =
        Tensor::Wrap(DataType::kInt64, {2, 2}, owner, reinterpret_cast<std::byte*>(owner->data()));
  }
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(wrapped.SliceRows(1, 2).data<int64_t>()[0], 3);
  Tensor flat;
  ASSERT_TRUE(wrapped.Reshape({4}, &flat).ok());
  EXPECT_EQ(flat.data<int64_t>()[3], 4);
  EXPECT_EQ(wrapped.Reshape({3}, &flat).code(), StatusCode::kInvalidArgument);
  wrapped = Tensor();
  flat = Tensor();
  EXPECT_TRUE(watch.expired());
}

TEST(StatusTest, CarriesCodeMessageAndContext) {
  Status s = InvalidArgument("bad").WithContext("model x");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "invalid_argument: model x: bad");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

}  // namespace
}  // namespace epara
