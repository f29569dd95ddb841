// The quantized weight products against F32 products of the dequantized operands (formats'
// dequantizers, themselves tested against hand-built blocks in formats/ggml_quant_test.cc), for
// every weight type, both the AVX2 tiles (where the host has AVX2) and the portable loops.
#include "llm/quant_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/half.h"
#include "formats/ggml_quant.h"
#include "llm/kernel_testing.h"
#include "llm/llama_kernels.h"

namespace epara::llm::kernels {
namespace {

using kernel_testing::Quantize;
using kernel_testing::Random;

class QuantKernelsTest : public ::testing::TestWithParam<WeightType> {};

// 19 rows (8-, 4- and 2-row tiles and remainders), 512 columns (two K-quant super-blocks,
// sixteen 32-weight blocks); inputs of 1-7 rows (dot tiles on quantized inputs, in groups of up to
// 4 inputs per pass: 5 and 7 leave groups of 1 and 3) and 16 and 21 (transposed groups, one
// partial, whose 5-row tail takes the dot tiles).
TEST_P(QuantKernelsTest, ProductsEqualTheF32ProductsOfTheDequantizedOperands) {
  const WeightType t = GetParam();
  const int64_t rows = 19, cols = 512;
  const std::vector<float> w = Random(rows * cols, 9, 0.3f);
  const std::vector<uint8_t> q = Quantize(t, w);
  std::vector<float> deq(rows * cols);
  DequantizeWeights(t, q.data(), rows * cols, deq.data());
  for (int n : {1, 2, 3, 4, 5, 7, 16, 21}) {
    const std::vector<float> x = Random(n * cols, 10 + n);
    // The dot tiles multiply int8 by int8: their inputs are rounded first (Q8_0 blocks, or Q8_K
    // super-blocks for the K-quants).
    QuantizedInput xq;
    QuantizeInput(x.data(), n, cols, &xq);
    std::vector<float> xr(n * cols);
    for (int b = 0; b < n; ++b) DequantizeInput(t, xq, b, cols, xr.data() + b * cols);
    for (int i = 0; i < n * cols; ++i)  // rounded, but within a step of the largest of 256
      ASSERT_NEAR(xr[i], x[i], 0.05) << i;
    std::vector<float> ref(n * rows);
    if (n < kTransposedMinBatch) {
      MatVecRows(deq.data(), cols, xr.data(), n, rows, ref.data(), 0, rows);
      for (bool portable : {false, true}) {
        std::vector<float> got(n * rows, -1.0f);
        (portable ? MatVecRowsQuantPortable : MatVecRowsQuant)(t, q.data(), cols, xq, n, rows,
                                                               got.data(), 0, rows);
        for (int i = 0; i < n * rows; ++i)
          ASSERT_NEAR(got[i], ref[i], 2e-4 + 2e-5 * std::fabs(ref[i]))
              << WeightTypeName(t) << " n " << n << " i " << i << " portable " << portable;
      }
    } else {
      MatVecRows(deq.data(), cols, x.data(), n, rows, ref.data(), 0, rows);
      const int groups = (n + 15) / 16;
      std::vector<float> xt(groups * cols * 16), got(n * rows, -1.0f);
      for (int g = 0; g < groups; ++g)
        TransposeTo16(x.data() + g * 16 * cols, cols, std::min(16, n - g * 16),
                      xt.data() + g * cols * 16);
      MatMulRowsQuantT(t, q.data(), cols, xt.data(), n, rows, got.data(), 0, rows);
      for (int i = 0; i < n * rows; ++i)
        ASSERT_NEAR(got[i], ref[i], 2e-4 + 2e-5 * std::fabs(ref[i]))
            << WeightTypeName(t) << " n " << n << " i " << i;
    }
  }
}

// A row range that starts and ends inside tiles writes exactly its rows.
TEST_P(QuantKernelsTest, ARowRangeWritesOnlyItsRows) {
  const WeightType t = GetParam();
  const int64_t rows = 19, cols = 256;
  const std::vector<float> w = Random(rows * cols, 3, 0.3f), x = Random(cols, 4);
  const std::vector<uint8_t> q = Quantize(t, w);
  QuantizedInput xq;
  QuantizeInput(x.data(), 1, cols, &xq);
  std::vector<float> all(rows), part(rows, -7.0f);
  MatVecRowsQuant(t, q.data(), cols, xq, 1, rows, all.data(), 0, rows);
  MatVecRowsQuant(t, q.data(), cols, xq, 1, rows, part.data(), 3, 14);
  for (int64_t r = 0; r < rows; ++r)
    if (r >= 3 && r < 14)
      EXPECT_FLOAT_EQ(part[r], all[r]) << r;
    else
      EXPECT_EQ(part[r], -7.0f) << r;
}

// The vectorized dequantizer (prompt tiles) equals the portable one, block layout and all.
TEST_P(QuantKernelsTest, DequantizationPathsAgree) {
  const WeightType t = GetParam();
  constexpr int64_t n = 3 * 512;
  const std::vector<float> w = Random(n, 5, 0.3f);
  const std::vector<uint8_t> q = Quantize(t, w);
  std::vector<float> a = Random(n, 6), b = Random(n, 7);  // overwritten
  DequantizeWeights(t, q.data(), n, a.data());
  DequantizeWeightsPortable(t, q.data(), n, b.data());
  for (int64_t i = 0; i < n; ++i) ASSERT_FLOAT_EQ(a[i], b[i]) << WeightTypeName(t) << " " << i;
}

// bfloat16 weights: the product with float inputs equals the F32 product of the widened
// weights (exact widening; only the summation order differs), for dot tiles of every shape (1-5
// inputs; 37 rows: 16-row and 4-row tiles and single rows; 200 columns: a tail after 16-wide
// steps), the transposed prompt path, and both dequantizers.
TEST(Bf16WeightsTest, ProductsEqualTheF32ProductsOfTheWidenedWeights) {
  const int64_t rows = 37, cols = 200;
  const std::vector<float> w = Random(rows * cols, 21, 0.3f);
  std::vector<uint8_t> b(rows * cols * 2);
  std::vector<float> widened(rows * cols);
  for (int64_t i = 0; i < rows * cols; ++i) {
    const uint16_t h = FloatToBf16(w[i]);
    std::memcpy(b.data() + 2 * i, &h, 2);
    widened[i] = Bf16ToFloat(h);
    ASSERT_NEAR(widened[i], w[i], std::fabs(w[i]) / 256) << i;  // 8 significant bits
  }
  std::vector<float> a(rows * cols), p(rows * cols);
  DequantizeWeights(WeightType::kBF16, b.data(), rows * cols, a.data());
  DequantizeWeightsPortable(WeightType::kBF16, b.data(), rows * cols, p.data());
  EXPECT_EQ(a, widened);
  EXPECT_EQ(p, widened);
  for (int n : {1, 2, 3, 4, 5, 16, 21}) {
    const std::vector<float> x = Random(n * cols, 30 + n);
    std::vector<float> ref(n * rows), got(n * rows, -1.0f);
    MatVecRows(widened.data(), cols, x.data(), n, rows, ref.data(), 0, rows);
    if (n < kTransposedMinBatch) {
      MatVecRowsBf16(reinterpret_cast<const uint16_t*>(b.data()), cols, x.data(), n, rows,
                     got.data(), 0, rows);
    } else {
      const int groups = (n + 15) / 16;
      std::vector<float> xt(groups * cols * 16);
      for (int g = 0; g < groups; ++g)
        TransposeTo16(x.data() + g * 16 * cols, cols, std::min(16, n - g * 16),
                      xt.data() + g * cols * 16);
      MatMulRowsQuantT(WeightType::kBF16, b.data(), cols, xt.data(), n, rows, got.data(), 0, rows);
    }
    for (int i = 0; i < n * rows; ++i)
      ASSERT_NEAR(got[i], ref[i], 1e-4 + 1e-5 * std::fabs(ref[i])) << "n " << n << " i " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, QuantKernelsTest,
                         ::testing::Values(WeightType::kQ8_0, WeightType::kQ4_0, WeightType::kQ4_K,
                                           WeightType::kQ6_K),
                         [](const auto& info) { return std::string(WeightTypeName(info.param)); });

}  // namespace
}  // namespace epara::llm::kernels
