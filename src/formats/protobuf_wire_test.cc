#include "formats/protobuf_wire.h"

#include <gtest/gtest.h>

#include <string>

#include "formats/protobuf_testing.h"

namespace epara::formats {
namespace {

using testing::Varint;

TEST(ProtoReaderTest, ReadsEveryWireTypeAndSignExtendedInt32) {
  std::string msg = Varint((1 << 3) | 0) + Varint(300);                      // field 1 varint 300
  msg += Varint((2 << 3) | 5) + std::string("\x00\x00\x80\x3f", 4);          // field 2 float 1.0
  msg += Varint((3 << 3) | 2) + Varint(3) + "abc";                           // field 3 bytes
  msg += Varint((4 << 3) | 0) + Varint(static_cast<uint64_t>(int64_t{-1}));  // int32 -1
  msg += Varint((5 << 3) | 1) + std::string(8, '\x01');                      // fixed64, skipped
  ProtoReader r(msg);
  uint32_t f = 0;
  WireType t{};
  uint64_t v = 0;
  ASSERT_TRUE(r.Key(&f, &t).ok());
  EXPECT_EQ(f, 1u);
  EXPECT_EQ(t, WireType::kVarint);
  ASSERT_TRUE(r.Varint(&v).ok());
  EXPECT_EQ(v, 300u);
  float x = 0;
  ASSERT_TRUE(r.Key(&f, &t).ok());
  ASSERT_TRUE(r.Float(&x).ok());
  EXPECT_EQ(x, 1.0f);
  std::string_view b;
  ASSERT_TRUE(r.Key(&f, &t).ok());
  ASSERT_TRUE(r.Bytes(&b).ok());
  EXPECT_EQ(b, "abc");
  int32_t i = 0;
  ASSERT_TRUE(r.Key(&f, &t).ok());
  ASSERT_TRUE(r.Int32(&i).ok());
  EXPECT_EQ(i, -1);
  ASSERT_TRUE(r.Key(&f, &t).ok());
  EXPECT_EQ(t, WireType::kFixed64);
  ASSERT_TRUE(r.Skip(t).ok());
  EXPECT_TRUE(r.done());
}

TEST(ProtoReaderTest, TruncatedAndMalformedInputAreErrorsWithOffsets) {
  uint64_t v = 0;
  std::string_view b;
  ProtoReader truncated_varint(std::string_view("\x80\x80", 2));
  Status s = truncated_varint.Varint(&v);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("truncated varint at byte 2"), std::string::npos) << s.message();

  const std::string long_len = Varint(100) + "abc";
  ProtoReader overrun(long_len);
  s = overrun.Bytes(&b);
  EXPECT_NE(s.message().find("length 100 runs past the end"), std::string::npos) << s.message();

  ProtoReader short_fixed(std::string_view("\x01\x02", 2));
  uint32_t u = 0;
  EXPECT_FALSE(short_fixed.Fixed32(&u).ok());

  const std::string ff(11, '\xff');
  ProtoReader eleven(ff);
  s = eleven.Varint(&v);
  EXPECT_NE(s.message().find("longer than 10 bytes"), std::string::npos) << s.message();

  const std::string group = Varint((1 << 3) | 3);  // start-group: not supported
  ProtoReader g(group);
  uint32_t f = 0;
  WireType t{};
  s = g.Key(&f, &t);
  EXPECT_NE(s.message().find("wire type 3"), std::string::npos) << s.message();

  const std::string zero = Varint(0);
  ProtoReader zero_field(zero);
  EXPECT_FALSE(zero_field.Key(&f, &t).ok());
}

}  // namespace
}  // namespace epara::formats
