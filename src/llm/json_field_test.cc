#include "llm/json_field.h"

#include <gtest/gtest.h>

namespace epara::llm {
namespace {

using json = nlohmann::json;

TEST(JsonFieldTest, NumbersOutsideAnIntegerFieldsRangeAreErrorsNotCasts) {
  // Found by fuzz/config_fuzz.cc: nlohmann's get<int>() of 2.59e104 is an undefined cast.
  int i = 7;
  Status s = GetField(json::parse(R"({"n": 2.59e104})"), "n", "cfg", "", &i);
  EXPECT_EQ(s.message(), "cfg: field 'n' is out of range");
  EXPECT_EQ(i, 7);
  EXPECT_FALSE(GetField(json::parse(R"({"n": 3000000000})"), "n", "cfg", "", &i).ok());
  EXPECT_FALSE(GetField(json::parse(R"({"n": -3000000000})"), "n", "cfg", "", &i).ok());
  EXPECT_FALSE(GetField(json::parse(R"({"n": 18446744073709551615})"), "n", "cfg", "", &i).ok());
  uint32_t u = 0;
  EXPECT_FALSE(GetField(json::parse(R"({"n": -1})"), "n", "cfg", "", &u).ok());
  EXPECT_FALSE(GetField(json::parse(R"({"n": 4294967296.0})"), "n", "cfg", "", &u).ok());
  int64_t l = 0;
  EXPECT_FALSE(GetField(json::parse(R"({"n": 9.3e18})"), "n", "cfg", "", &l).ok());
  // In range: read as before (a float is truncated, as get<int>() does).
  ASSERT_TRUE(GetField(json::parse(R"({"n": 2147483647})"), "n", "cfg", "", &i).ok());
  EXPECT_EQ(i, 2147483647);
  ASSERT_TRUE(GetField(json::parse(R"({"n": -2147483648})"), "n", "cfg", "", &i).ok());
  EXPECT_EQ(i, -2147483648);
  ASSERT_TRUE(GetField(json::parse(R"({"n": 12.0})"), "n", "cfg", "", &u).ok());
  EXPECT_EQ(u, 12u);
  double d = 0;
  ASSERT_TRUE(GetField(json::parse(R"({"n": 2.59e104})"), "n", "cfg", "", &d).ok());
  EXPECT_DOUBLE_EQ(d, 2.59e104);
  EXPECT_EQ(GetField(json::parse(R"({"n": "x"})"), "n", "cfg", "", &i).message(),
            "cfg: field 'n' has the wrong type");
}

}  // namespace
}  // namespace epara::llm
