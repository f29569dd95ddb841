#include "formats/ggml_quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/half.h"

namespace epara::formats {
namespace {

std::vector<float> Weights(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.05f);
  std::vector<float> w(n);
  for (float& x : w) x = d(rng);
  return w;
}

TEST(GgmlQuantTest, Q8_0BlocksHoldTheScaleAndRoundedWeights) {
  const std::vector<float> w = Weights(64, 1);
  std::vector<uint8_t> q(2 * kQ8_0Bytes);
  QuantizeQ8_0(w.data(), 64, q.data());
  for (int b = 0; b < 2; ++b) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(w[b * 32 + i]));
    uint16_t h;
    std::memcpy(&h, q.data() + b * kQ8_0Bytes, 2);
    EXPECT_EQ(h, FloatToHalf(amax / 127.0f));  // the block's fp16 scale comes first
    for (int i = 0; i < 32; ++i)
      EXPECT_EQ(static_cast<int8_t>(q[b * kQ8_0Bytes + 2 + i]),
                static_cast<int8_t>(std::round(w[b * 32 + i] / (amax / 127.0f))));
  }
  std::vector<float> back(64);
  DequantizeQ8_0(q.data(), 64, back.data());
  for (int i = 0; i < 64; ++i) {
    float amax = 0;
    for (int k = 0; k < 32; ++k) amax = std::max(amax, std::fabs(w[i / 32 * 32 + k]));
    EXPECT_NEAR(back[i], w[i], amax / 127.0f * 0.51f) << i;  // half a step (+ fp16 scale)
  }
}

TEST(GgmlQuantTest, Q4_0PacksNibblesLowFirstHalfHighSecondHalf) {
  std::vector<float> w(32);
  for (int i = 0; i < 32; ++i) w[i] = (i - 16) * 0.125f;  // -2 .. 1.875: max magnitude is -2
  std::vector<uint8_t> q(kQ4_0Bytes);
  QuantizeQ4_0(w.data(), 32, q.data());
  uint16_t h;
  std::memcpy(&h, q.data(), 2);
  EXPECT_EQ(HalfToFloat(h), 0.25f);  // d = -2 / -8
  EXPECT_EQ(q[2] & 0x0f, 0);         // w[0] = -2 -> -8 + 8
  EXPECT_EQ(q[2] >> 4, 8);           // w[16] = 0 -> 0 + 8
  std::vector<float> back(32);
  DequantizeQ4_0(q.data(), 32, back.data());
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(back[i], w[i], 0.125f + 1e-6f) << i;
  // Random weights: within half a step, or one step for weights opposite the block's extreme
  // (those map up to +8, which clamps at +7, as in ggml).
  const std::vector<float> r = Weights(256, 2);
  std::vector<uint8_t> qr(8 * kQ4_0Bytes);
  QuantizeQ4_0(r.data(), 256, qr.data());
  back.resize(256);
  DequantizeQ4_0(qr.data(), 256, back.data());
  for (int i = 0; i < 256; ++i) {
    uint16_t dh;
    std::memcpy(&dh, qr.data() + i / 32 * kQ4_0Bytes, 2);
    EXPECT_LE(std::fabs(back[i] - r[i]), std::fabs(HalfToFloat(dh)) + 1e-4f) << i;
  }
}

// A Q4_K super-block built by hand from the layout in ggml_quant.h (not by the quantizer):
// sub-block 5's scale and min need the packed high bits, its nibbles are the high halves of the
// third 32-byte chunk.
TEST(GgmlQuantTest, Q4_KDecodesItsPackedScalesMinsAndNibbles) {
  std::vector<uint8_t> b(kQ4_KBytes, 0);
  const uint16_t d = FloatToHalf(0.5f), dmin = FloatToHalf(0.25f);
  std::memcpy(b.data(), &d, 2);
  std::memcpy(b.data() + 2, &dmin, 2);
  uint8_t* packed = b.data() + 4;
  // Sub-block 1: scale 3, min 60 (bytes 1 and 5, low 6 bits).
  packed[1] = 3;
  packed[5] = 60;
  // Sub-block 5: scale 37 = 0b10'0101, min 50 = 0b11'0010: low nibbles in byte 9, high bits in
  // bits 6-7 of byte 1 (scale) and byte 5 (min).
  packed[9] = static_cast<uint8_t>(0x5 | (0x2 << 4));
  packed[1] |= static_cast<uint8_t>(0x2 << 6);
  packed[5] |= static_cast<uint8_t>(0x3 << 6);
  uint8_t* qs = b.data() + 16;
  qs[7] = 0x0c;                                 // weight 7 (sub-block 0, low): q 12
  qs[32 + 9] = 0xa0;                            // weight 32 + 9 (sub-block 1's low nibble 0) ...
  qs[64 + 4] = static_cast<uint8_t>(0x9 << 4);  // weight 160 + 4 (sub-block 5, high nibble): q 9
  uint8_t sc, mn;
  Q4KScaleMin(packed, 5, &sc, &mn);
  EXPECT_EQ(sc, 37);
  EXPECT_EQ(mn, 50);
  std::vector<float> y(256);
  DequantizeQ4_K(b.data(), 256, y.data());
  EXPECT_FLOAT_EQ(y[7], 0.5f * 0 * 12 - 0.25f * 0);         // sub-block 0: scale 0, min 0
  EXPECT_FLOAT_EQ(y[32 + 9], 0.5f * 3 * 0 - 0.25f * 60);    // low nibble of 0xa0 is 0
  EXPECT_FLOAT_EQ(y[96 + 9], 0.5f * 0 * 10 - 0.25f * 0);    // its high nibble: sub-block 3
  EXPECT_FLOAT_EQ(y[160 + 4], 0.5f * 37 * 9 - 0.25f * 50);  // sub-block 5
  EXPECT_FLOAT_EQ(y[160 + 5], 0.5f * 37 * 0 - 0.25f * 50);
}

// The same for Q6_K: weight 200 is in the second half (n 1), quarter 2, l 8: the high nibble of
// ql[64 + 8], bits 4-5 of qh[32 + 8], scale 12.
TEST(GgmlQuantTest, Q6_KDecodesLowAndHighBitsWithItsScale) {
  std::vector<uint8_t> b(kQ6_KBytes, 0);
  const uint16_t d = FloatToHalf(0.125f);
  std::memcpy(b.data() + 208, &d, 2);
  auto* scales = reinterpret_cast<int8_t*>(b.data() + 192);
  scales[12] = -3;
  scales[0] = 5;
  b[64 + 8] = 0x70;            // q low bits 7 (high nibble)
  b[128 + 32 + 8] = 0x2 << 4;  // q high bits 2 -> q = 39
  b[0] = 0x0f;                 // weight 0: low 15, high bits 0 -> q 15
  std::vector<float> y(256);
  DequantizeQ6_K(b.data(), 256, y.data());
  EXPECT_FLOAT_EQ(y[200], 0.125f * -3 * (39 - 32));
  EXPECT_FLOAT_EQ(y[0], 0.125f * 5 * (15 - 32));
  EXPECT_FLOAT_EQ(y[1], 0.125f * 5 * (0 - 32));
  EXPECT_FLOAT_EQ(y[64 + 8], 0.0f);  // scale 4 (quarter 2 of the first half) is 0
}

// Random weights through each K-quant and back: every weight within one step of its sub-block
// (the scales themselves are rounded to 6 or 8 bits, so half a step does not bound them).
TEST(GgmlQuantTest, KQuantRoundTripsStayWithinAStep) {
  const std::vector<float> w = Weights(1024, 7);
  std::vector<float> back(1024);
  std::vector<uint8_t> q4(4 * kQ4_KBytes), q6(4 * kQ6_KBytes);
  QuantizeQ4_K(w.data(), 1024, q4.data());
  DequantizeQ4_K(q4.data(), 1024, back.data());
  double err4 = 0, err6 = 0, norm = 0;
  for (int s = 0; s < 32; ++s) {
    float lo = 0, hi = 0;
    for (int i = 0; i < 32; ++i) lo = std::min(lo, w[32 * s + i]), hi = std::max(hi, w[32 * s + i]);
    for (int i = 0; i < 32; ++i) {
      EXPECT_LE(std::fabs(back[32 * s + i] - w[32 * s + i]), (hi - lo) / 15.0f * 1.1f) << s;
      err4 += std::pow(back[32 * s + i] - w[32 * s + i], 2);
      norm += std::pow(w[32 * s + i], 2);
    }
  }
  QuantizeQ6_K(w.data(), 1024, q6.data());
  DequantizeQ6_K(q6.data(), 1024, back.data());
  for (int s = 0; s < 64; ++s) {
    float amax = 0;
    for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(w[16 * s + i]));
    for (int i = 0; i < 16; ++i) {
      EXPECT_LE(std::fabs(back[16 * s + i] - w[16 * s + i]), amax / 31.0f * 1.1f) << s;
      err6 += std::pow(back[16 * s + i] - w[16 * s + i], 2);
    }
  }
  // 4 bits vs 6 bits: Q6_K's relative error is several times smaller; both are small.
  EXPECT_LT(std::sqrt(err4 / norm), 0.12);
  EXPECT_LT(std::sqrt(err6 / norm), 0.03);
  EXPECT_LT(err6 * 4, err4);
}

}  // namespace
}  // namespace epara::formats
