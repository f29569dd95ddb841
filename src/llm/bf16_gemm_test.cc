// The bfloat16 prompt products against double-precision products of the same bfloat16 values, and
// the inputs' rounding against FloatToBf16. The product needs AVX512-BF16: without it those tests
// skip (the rounding's portable path still runs).
#include "llm/bf16_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/half.h"
#include "llm/kernel_testing.h"

namespace epara::llm::kernels {
namespace {

using kernel_testing::Random;

TEST(Bf16RowsTest, RoundingMatchesFloatToBf16IncludingTies) {
  const int64_t cols = 64;
  std::vector<float> x = Random(2 * cols, 3);
  // Exact ties (the low 16 bits 0x8000) round to even both ways; and values just above a tie.
  const uint32_t ties[] = {0x3f808000u, 0x3f818000u, 0xbf808000u, 0x3f808001u, 0x00008000u};
  for (int i = 0; i < 5; ++i) std::memcpy(&x[7 + i], &ties[i], 4);
  std::vector<uint16_t> got(x.size());
  RoundRowsToBf16(x.data(), cols, 0, 1, got.data());
  RoundRowsToBf16(x.data(), cols, 1, 2, got.data());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(got[i], FloatToBf16(x[i])) << i;
  EXPECT_EQ(got[7], 0x3f80);  // 1.0 + half an ulp: to the even 1.0
  EXPECT_EQ(got[8], 0x3f82);  // odd + half an ulp: up to even
}

TEST(Bf16GemmTest, ProductsEqualTheProductsOfTheSameBf16Values) {
  if (!Bf16GemmAvailable()) GTEST_SKIP() << "this CPU lacks AVX512-BF16: the bf16 kernel is off";
  for (int64_t cols : {int64_t{96}, int64_t{512}}) {
    const int64_t rows = 37, r0 = 3, r1 = rows;
    const std::vector<float> wf = Random(rows * cols, 5, 0.3f);
    std::vector<uint16_t> w(wf.size());
    for (size_t i = 0; i < wf.size(); ++i) w[i] = FloatToBf16(wf[i]);
    for (int n : {1, 2, 3, 5, 8, 13, 21}) {
      const std::vector<float> xf = Random(n * cols, 30 + n);
      std::vector<uint16_t> x(xf.size());
      RoundRowsToBf16(xf.data(), cols, 0, n, x.data());
      std::vector<float> y(n * rows, -7.0f);
      Bf16MatMulRows(w.data(), cols, x.data(), n, rows, y.data(), r0, r1);
      for (int b = 0; b < n; ++b) {
        for (int64_t r = 0; r < rows; ++r) {
          if (r < r0) {
            ASSERT_EQ(y[b * rows + r], -7.0f) << "row outside the range written";
            continue;
          }
          double ref = 0, mag = 0;
          for (int64_t c = 0; c < cols; ++c) {
            const double p =
                double{Bf16ToFloat(w[r * cols + c])} * double{Bf16ToFloat(x[b * cols + c])};
            ref += p;
            mag += std::fabs(p);
          }
          ASSERT_NEAR(y[b * rows + r], ref, 1e-5 * mag + 1e-6)
              << "cols " << cols << " n " << n << " input " << b << " row " << r;
        }
      }
    }
  }
}

}  // namespace
}  // namespace epara::llm::kernels
