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

}  // namespace
}  // namespace epara::formats
