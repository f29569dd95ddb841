#include "core/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace epara {
namespace {

TEST(HalfTest, KnownValues) {
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);                          // largest half
  EXPECT_EQ(FloatToHalf(65519.0f), 0x7bff);                          // rounds down to it
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);                          // rounds up: overflow to inf
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -14)), 0x0400);             // smallest normal
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);             // smallest subnormal
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);             // tie: to even (zero)
  EXPECT_EQ(FloatToHalf(std::ldexp(1.5f, -25)), 0x0001);             // above the tie
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie between 1 and next: even
  EXPECT_EQ(FloatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie: up to even
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::nanf("")))));
  EXPECT_EQ(HalfToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));
}

TEST(HalfTest, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(FloatToHalf(f), h) << std::hex << h;
  }
}

TEST(HalfTest, RoundsToTheNearestHalf) {
  // Midpoints between consecutive positive halves go to the even one; other floats to the nearer.
  for (uint32_t h = 0x0001; h < 0x7bff; h += 37) {
    const float lo = HalfToFloat(static_cast<uint16_t>(h)),
                hi = HalfToFloat(static_cast<uint16_t>(h + 1));
    const float mid = lo + (hi - lo) / 2;
    ASSERT_EQ(FloatToHalf(mid), (h % 2 == 0) ? h : h + 1) << std::hex << h;
    ASSERT_EQ(FloatToHalf(std::nextafter(mid, lo)), h);
    ASSERT_EQ(FloatToHalf(std::nextafter(mid, hi)), h + 1);
  }
}

TEST(HalfTest, ArrayConversionsEqualTheScalarOnes) {
  // Every half, and floats around every rounding boundary and the overflow/subnormal edges, in
  // arrays whose lengths leave a tail after the 8-wide blocks.
  std::vector<uint16_t> halves(0x10000 + 5);
  for (size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<uint16_t>(i * 40503u);
  std::vector<float> floats(halves.size());
  HalfToFloatN(halves.data(), static_cast<int64_t>(halves.size()), floats.data());
  for (size_t i = 0; i < halves.size(); ++i) {
    const float want = HalfToFloat(halves[i]);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(floats[i])) << i;
      continue;
    }
    ASSERT_EQ(std::memcmp(&floats[i], &want, sizeof want), 0) << std::hex << halves[i];
  }
  std::vector<float> in;
  for (uint32_t h = 0; h < 0x7c00; h += 7) {
    const float a = HalfToFloat(static_cast<uint16_t>(h)),
                b = HalfToFloat(static_cast<uint16_t>(h + 1));
    for (const float f :
         {a, (a + b) / 2, std::nextafter((a + b) / 2, 0.0f), std::nextafter((a + b) / 2, 1e9f)}) {
      in.push_back(f);
      in.push_back(-f);
    }
  }
  for (const float f : {65504.0f, 65519.0f, 65520.0f, 1e30f, std::ldexp(1.0f, -25),
                        std::ldexp(1.0f, -26), std::numeric_limits<float>::infinity()})
    in.push_back(f);
  in.push_back(3.0f);  // a tail of 1 after whole 8-blocks, or more
  std::vector<uint16_t> out(in.size());
  FloatToHalfN(in.data(), static_cast<int64_t>(in.size()), out.data());
  for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], FloatToHalf(in[i])) << in[i];
}

}  // namespace
}  // namespace epara
