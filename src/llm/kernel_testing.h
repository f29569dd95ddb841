// Test inputs shared by the kernel tests (tests only: uses GoogleTest's EXPECT).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "formats/ggml_quant.h"
#include "llm/quant_kernels.h"

namespace epara::llm::kernels::kernel_testing {

// n values drawn from N(0, scale^2) with `seed`.
inline std::vector<float> Random(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// `w` (whole blocks) as `t`-typed GGML blocks.
inline std::vector<uint8_t> Quantize(WeightType t, const std::vector<float>& w) {
  std::vector<uint8_t> q(static_cast<size_t>(static_cast<int64_t>(w.size()) /
                                             WeightBlockElements(t) * WeightBlockBytes(t)));
  EXPECT_TRUE(
      formats::QuantizeBlocks(GgmlTypeOf(t), w.data(), static_cast<int64_t>(w.size()), q.data()));
  return q;
}

}  // namespace epara::llm::kernels::kernel_testing
