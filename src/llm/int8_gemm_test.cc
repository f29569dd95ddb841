// The int8 prompt products against double-precision products of the dequantized operands (the
// formats' dequantizers for the weights, scale x q for the inputs), for every weight type, and the
// panel layout against the dequantized weights. The kernel needs AVX512-VNNI: without it the
// kernel tests skip (the input quantizer's portable path still runs).
#include "llm/int8_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "formats/ggml_quant.h"
#include "llm/kernel_testing.h"

namespace epara::llm::kernels {
namespace {

using kernel_testing::Quantize;
using kernel_testing::Random;

TEST(Int8RowsTest, QuantizedRowsRebuildTheInputsAndTheirSums) {
  const int n = 3;
  const int64_t cols = 96;
  std::vector<float> x = Random(n * cols, 4);
  for (int i = 32; i < 64; ++i) x[i] = 0.0f;  // an all-zero group: scale 0, values 0
  Int8Rows q;
  PrepareInt8Rows(n, cols, &q);
  QuantizeInt8Rows(x.data(), 0, 1, &q);
  QuantizeInt8Rows(x.data(), 1, n, &q);  // row ranges fill independently
  for (int64_t g = 0; g < n * cols / 32; ++g) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[g * 32 + i]));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    ASSERT_EQ(q.scale32[g], d) << g;
    int sums[2] = {0, 0};
    for (int i = 0; i < 32; ++i) {
      const int8_t v = q.q[g * 32 + i];
      ASSERT_EQ(v, static_cast<int8_t>(std::nearbyint(x[g * 32 + i] * id))) << g << " " << i;
      ASSERT_LE(std::fabs(d * v - x[g * 32 + i]), d / 2 + 1e-7f);
      sums[i / 16] += v;
    }
    ASSERT_EQ(q.sum16[2 * g], d * static_cast<float>(sums[0]));
    ASSERT_EQ(q.sum16[2 * g + 1], d * static_cast<float>(sums[1]));
    ASSERT_EQ(q.sum32[g], d * static_cast<float>(sums[0] + sums[1]));
  }
  EXPECT_EQ(q.scale32[1], 0.0f);
}

class Int8GemmTest : public ::testing::TestWithParam<WeightType> {
 protected:
  void SetUp() override {
    if (!Int8GemmAvailable()) GTEST_SKIP() << "this CPU lacks AVX512-VNNI: the int8 kernel is off";
  }
};

// Columns: 512 (two K-quant super-blocks); 96 for the 32-weight types (a last 32-column half
// chunk).
std::vector<int64_t> Widths(WeightType t) {
  if (t == WeightType::kQ4_K || t == WeightType::kQ6_K) return {512};
  return {512, 96};
}

TEST_P(Int8GemmTest, PanelBytesTimesScalesPlusOffsetsAreTheWeights) {
  const WeightType t = GetParam();
  for (int64_t cols : Widths(t)) {
    const int64_t rows = 19;
    const std::vector<uint8_t> w = Quantize(t, Random(rows * cols, 7, 0.3f));
    std::vector<float> deq(rows * cols);
    DequantizeWeightsPortable(t, w.data(), rows * cols, deq.data());
    const int gc = t == WeightType::kQ6_K ? 16 : 32;
    std::vector<uint8_t> panel((cols + 63) / 64 * 64 * 16, 0xAB);
    std::vector<float> scale(cols / gc * 16), offset(scale.size());
    for (int64_t r0 : {int64_t{0}, int64_t{16}}) {
      const int count = static_cast<int>(std::min<int64_t>(16, rows - r0));
      UnpackInt8Panel(t, w.data(), cols, r0, count, panel.data(), scale.data(), offset.data());
      for (int lane = 0; lane < 16; ++lane) {
        for (int64_t c = 0; c < cols; ++c) {
          const uint8_t byte = panel[(c / 4) * 64 + 4 * lane + c % 4];
          if (lane >= count) {
            ASSERT_EQ(byte, 0) << lane << " " << c;
            continue;
          }
          const int64_t g = c / gc;
          const float got = scale[g * 16 + lane] * byte + offset[g * 16 + lane];
          const float want = deq[(r0 + lane) * cols + c];
          ASSERT_NEAR(got, want, 1e-5f + 1e-5f * std::fabs(want))
              << WeightTypeName(t) << " cols " << cols << " row " << r0 + lane << " col " << c;
        }
      }
    }
  }
}

// 37 rows, of which [3, 37) are asked for (partial panels at both ends); 1-21 inputs (tiles of
// 8 and every remainder).
TEST_P(Int8GemmTest, ProductsEqualTheProductsOfTheDequantizedOperands) {
  const WeightType t = GetParam();
  for (int64_t cols : Widths(t)) {
    const int64_t rows = 37, r0 = 3, r1 = rows;
    const std::vector<uint8_t> w = Quantize(t, Random(rows * cols, 11, 0.3f));
    std::vector<float> deq(rows * cols);
    DequantizeWeightsPortable(t, w.data(), rows * cols, deq.data());
    for (int n : {1, 2, 3, 5, 7, 8, 13, 21}) {
      const std::vector<float> x = Random(n * cols, 20 + n);
      Int8Rows xq;
      PrepareInt8Rows(n, cols, &xq);
      QuantizeInt8Rows(x.data(), 0, n, &xq);
      std::vector<float> y(n * rows, -7.0f);
      Int8MatMulRows(t, w.data(), xq, rows, y.data(), r0, r1);
      for (int b = 0; b < n; ++b) {
        for (int64_t r = 0; r < rows; ++r) {
          if (r < r0) {
            ASSERT_EQ(y[b * rows + r], -7.0f) << "row outside the range written";
            continue;
          }
          double ref = 0, mag = 0;
          for (int64_t c = 0; c < cols; ++c) {
            const int64_t e = b * cols + c;
            const double xv = double{xq.scale32[e / 32]} * xq.q[e];
            ref += double{deq[r * cols + c]} * xv;
            mag += std::fabs(double{deq[r * cols + c]} * xv);
          }
          ASSERT_NEAR(y[b * rows + r], ref, 1e-5 * mag + 1e-6)
              << WeightTypeName(t) << " cols " << cols << " n " << n << " input " << b << " row "
              << r;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, Int8GemmTest,
                         ::testing::Values(WeightType::kQ8_0, WeightType::kQ4_0, WeightType::kQ4_K,
                                           WeightType::kQ6_K),
                         [](const auto& info) { return std::string(WeightTypeName(info.param)); });

}  // namespace
}  // namespace epara::llm::kernels
