#include "llm/bf16_gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "llm/avx512_panel.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EPARA_BF16_X86 1
// GCC 12's AVX-512 headers build casts on _mm512_undefined_*(), which -Wuninitialized reports at
// every inlined use (a known false positive of those headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace epara::llm::kernels {

#ifdef EPARA_BF16_X86
namespace {

#define EPARA_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

bool HasBf16() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return ok;
}

// B input rows [b0, b0 + B) against one panel of 16 rows x cols.
template <int B>
EPARA_BF16 void PanelTile(const uint8_t* panel, int64_t cols, const uint16_t* x, int b0, float* y,
                          int64_t rows, __mmask16 mask) {
  // Two accumulators per input (even and odd column pairs): twice the independent chains, so the
  // dot products' latency does not bound their throughput.
  __m512 acc[B][2];
  for (int b = 0; b < B; ++b) acc[b][0] = acc[b][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < cols; k += 16) {  // 8 column pairs per pass
    __m512i w[8];
    for (int j = 0; j < 8; ++j) w[j] = _mm512_loadu_si512(panel + (k / 2 + j) * 64);
    for (int b = 0; b < B; ++b) {
      const uint16_t* xb = x + (b0 + b) * cols + k;
      for (int j = 0; j < 8; ++j) {
        int32_t pair;
        std::memcpy(&pair, xb + 2 * j, 4);
        acc[b][j % 2] =
            _mm512_dpbf16_ps(acc[b][j % 2], (__m512bh)w[j], (__m512bh)_mm512_set1_epi32(pair));
      }
    }
  }
  for (int b = 0; b < B; ++b)
    _mm512_mask_storeu_ps(y + (b0 + b) * rows, mask, _mm512_add_ps(acc[b][0], acc[b][1]));
}

void PanelRows(const uint8_t* panel, int64_t cols, const uint16_t* x, int n, float* y, int64_t rows,
               __mmask16 mask) {
  ForInputTiles(n, [&](auto tile, int b0) {
    PanelTile<decltype(tile)::value>(panel, cols, x, b0, y, rows, mask);
  });
}

// Rows [r0, r0 + count) of W into the panel (zeros for lanes past count).
EPARA_BF16 void UnpackPanel(const uint16_t* W, int64_t cols, int64_t r0, int count,
                            uint8_t* panel) {
  __m512i r[16];
  for (int64_t c = 0; c < cols; c += 32) {
    for (int lane = 0; lane < 16; ++lane)
      r[lane] =
          lane < count ? _mm512_loadu_si512(W + (r0 + lane) * cols + c) : _mm512_setzero_si512();
    Transpose16(r, panel + c / 32 * 16 * 64);
  }
}

EPARA_BF16 void RoundRowsAvx512(const float* x, int64_t cols, int r0, int r1, uint16_t* out) {
  for (int64_t i = int64_t{r0} * cols; i < int64_t{r1} * cols; i += 32) {
    // Round to nearest even, as FloatToBf16 (the second operand fills the low half).
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(out + i, (__m512i)v);
  }
}

}  // namespace
#endif

void RoundRowsToBf16(const float* x, int64_t cols, int r0, int r1, uint16_t* out) {
#ifdef EPARA_BF16_X86
  if (HasBf16() && cols % 32 == 0) return RoundRowsAvx512(x, cols, r0, r1, out);
#endif
  for (int64_t i = int64_t{r0} * cols; i < int64_t{r1} * cols; ++i) out[i] = FloatToBf16(x[i]);
}

bool Bf16GemmAvailable() {
#ifdef EPARA_BF16_X86
  return HasBf16();
#else
  return false;
#endif
}

void Bf16MatMulRows(const uint16_t* W, int64_t cols, const uint16_t* x, int n, int64_t rows,
                    float* y, int64_t r0, int64_t r1) {
#ifdef EPARA_BF16_X86
  thread_local std::vector<uint8_t> panel;  // 16 rows x cols bfloat16
  panel.resize(static_cast<size_t>(cols * 32));
  for (int64_t r = r0; r < r1; r += 16) {
    const int count = static_cast<int>(std::min<int64_t>(16, r1 - r));
    UnpackPanel(W, cols, r, count, panel.data());
    PanelRows(panel.data(), cols, x, n, y + r, rows, static_cast<__mmask16>((1u << count) - 1));
  }
#else
  (void)W, (void)cols, (void)x, (void)n, (void)rows, (void)y, (void)r0, (void)r1;
#endif
}

}  // namespace epara::llm::kernels
