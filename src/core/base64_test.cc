#include "core/base64.h"

#include <gtest/gtest.h>

namespace epara {
namespace {

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {{"", ""},
                                                       {"f", "Zg=="},
                                                       {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},
                                                       {"foob", "Zm9vYg=="},
                                                       {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    std::string back;
    ASSERT_TRUE(Base64Decode(encoded, &back).ok()) << encoded;
    EXPECT_EQ(back, plain);
  }
}

TEST(Base64Test, EveryByteRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n < 5; ++n) {
    const std::string s = all.substr(n);
    std::string back;
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &back).ok());
    EXPECT_EQ(back, s);
  }
}

TEST(Base64Test, RejectsMalformedText) {
  std::string out;
  EXPECT_EQ(Base64Decode("Zm9", &out).code(), StatusCode::kInvalidArgument);       // length
  EXPECT_EQ(Base64Decode("Zm9*", &out).code(), StatusCode::kInvalidArgument);      // alphabet
  EXPECT_EQ(Base64Decode("Z=9v", &out).code(), StatusCode::kInvalidArgument);      // early pad
  EXPECT_EQ(Base64Decode("Zg==Zm9v", &out).code(), StatusCode::kInvalidArgument);  // mid pad
  EXPECT_EQ(Base64Decode("Zm=v", &out).code(), StatusCode::kInvalidArgument);      // pad then data
}

}  // namespace
}  // namespace epara
