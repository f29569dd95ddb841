#include "llm/quant_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/cpu_dispatch.h"
#include "core/half.h"
#include "formats/ggml_quant.h"
#include "llm/llama_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace epara::llm::kernels {

const char* WeightTypeName(WeightType t) {
  switch (t) {
    case WeightType::kF32:
      return "F32";
    case WeightType::kQ8_0:
      return "Q8_0";
    case WeightType::kQ4_0:
      return "Q4_0";
    case WeightType::kQ4_K:
      return "Q4_K";
    case WeightType::kQ6_K:
      return "Q6_K";
  }
  return "?";
}

int WeightBlockElements(WeightType t) {
  switch (t) {
    case WeightType::kF32:
      return 1;
    case WeightType::kQ8_0:
      return formats::kQ8_0Block;
    case WeightType::kQ4_0:
      return formats::kQ4_0Block;
    case WeightType::kQ4_K:
      return formats::kQ4_KBlock;
    case WeightType::kQ6_K:
      return formats::kQ6_KBlock;
  }
  return 1;
}

int WeightBlockBytes(WeightType t) {
  switch (t) {
    case WeightType::kF32:
      return 4;
    case WeightType::kQ8_0:
      return formats::kQ8_0Bytes;
    case WeightType::kQ4_0:
      return formats::kQ4_0Bytes;
    case WeightType::kQ4_K:
      return formats::kQ4_KBytes;
    case WeightType::kQ6_K:
      return formats::kQ6_KBytes;
  }
  return 4;
}

int64_t WeightRowBytes(WeightType t, int64_t cols) {
  return cols / WeightBlockElements(t) * WeightBlockBytes(t);
}

void DequantizeWeights(WeightType t, const uint8_t* W, int64_t elements, float* out) {
  switch (t) {
    case WeightType::kF32:
      std::memcpy(out, W, elements * sizeof(float));
      return;
    case WeightType::kQ8_0:
      formats::DequantizeQ8_0(W, elements, out);
      return;
    case WeightType::kQ4_0:
      formats::DequantizeQ4_0(W, elements, out);
      return;
    case WeightType::kQ4_K:
      formats::DequantizeQ4_K(W, elements, out);
      return;
    case WeightType::kQ6_K:
      formats::DequantizeQ6_K(W, elements, out);
      return;
  }
}

namespace {

inline float Half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

inline const int8_t* Quants(const uint8_t* q8_block) {
  return reinterpret_cast<const int8_t*>(q8_block + 2);
}

}  // namespace

void QuantizeInput(const float* x, int rows, int64_t cols, QuantizedInput* out) {
  const int64_t blocks = int64_t{rows} * (cols / 32);
  out->blocks.resize(static_cast<size_t>(blocks * formats::kQ8_0Bytes));
  out->sums.resize(static_cast<size_t>(blocks));
  formats::QuantizeQ8_0(x, int64_t{rows} * cols, out->blocks.data());
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* block = out->blocks.data() + b * formats::kQ8_0Bytes;
    int32_t sum = 0;
    for (int i = 0; i < 32; ++i) sum += Quants(block)[i];
    out->sums[b] = Half(block) * static_cast<float>(sum);
  }
}

// ---- Portable loops: one weight row against one input row, block by block.
namespace {

// x: the input row's Q8_0 blocks and their sums (32 weights per input block).
float DotQ8_0(const uint8_t* w, const uint8_t* x, const float* /*sums*/, int64_t cols) {
  float sum = 0;
  for (int64_t k = 0; k < cols / 32; ++k) {
    const uint8_t *wb = w + k * 34, *xb = x + k * 34;
    int32_t dot = 0;
    for (int i = 0; i < 32; ++i) dot += int32_t{Quants(wb)[i]} * Quants(xb)[i];
    sum += Half(wb) * Half(xb) * static_cast<float>(dot);
  }
  return sum;
}

float DotQ4_0(const uint8_t* w, const uint8_t* x, const float* /*sums*/, int64_t cols) {
  float sum = 0;
  for (int64_t k = 0; k < cols / 32; ++k) {
    const uint8_t *wb = w + k * 18, *xb = x + k * 34;
    int32_t dot = 0;
    for (int i = 0; i < 16; ++i) {
      dot += ((wb[2 + i] & 0x0f) - 8) * int32_t{Quants(xb)[i]};
      dot += ((wb[2 + i] >> 4) - 8) * int32_t{Quants(xb)[i + 16]};
    }
    sum += Half(wb) * Half(xb) * static_cast<float>(dot);
  }
  return sum;
}

float DotQ4_K(const uint8_t* w, const uint8_t* x, const float* sums, int64_t cols) {
  float sum = 0;
  for (int64_t sb = 0; sb < cols / 256; ++sb) {
    const uint8_t* o = w + sb * formats::kQ4_KBytes;
    const float d = Half(o), dmin = Half(o + 2);
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, mn;
      formats::Q4KScaleMin(o + 4, s, &sc, &mn);
      const uint8_t* q = o + 16 + 32 * (s / 2);
      const uint8_t* xb = x + (sb * 8 + s) * 34;
      int32_t dot = 0;
      for (int i = 0; i < 32; ++i)
        dot += (s % 2 == 0 ? q[i] & 0x0f : q[i] >> 4) * int32_t{Quants(xb)[i]};
      sum += Half(xb) * d * sc * static_cast<float>(dot) - dmin * mn * sums[sb * 8 + s];
    }
  }
  return sum;
}

float DotQ6_K(const uint8_t* w, const uint8_t* x, const float* /*sums*/, int64_t cols) {
  float sum = 0;
  for (int64_t sb = 0; sb < cols / 256; ++sb) {
    const uint8_t* o = w + sb * formats::kQ6_KBytes;
    const uint8_t *ql = o, *qh = o + 128;
    const auto* scales = reinterpret_cast<const int8_t*>(o + 192);
    const float d = Half(o + 208);
    for (int j = 0; j < 8; ++j) {  // input block j: half j / 4, quarter j % 4
      const int half = j / 4, t = j % 4;
      const uint8_t* xb = x + (sb * 8 + j) * 34;
      int32_t dot[2] = {0, 0};
      for (int l = 0; l < 32; ++l) {
        const uint8_t low = ql[64 * half + 32 * (t % 2) + l];
        const int q =
            ((t < 2 ? low & 0x0f : low >> 4) | (((qh[32 * half + l] >> (2 * t)) & 3) << 4)) - 32;
        dot[l / 16] += q * int32_t{Quants(xb)[l]};
      }
      const int8_t* sc = scales + 8 * half + 2 * t;
      sum += Half(xb) * d * static_cast<float>(sc[0] * dot[0] + sc[1] * dot[1]);
    }
  }
  return sum;
}

using RowDot = float (*)(const uint8_t*, const uint8_t*, const float*, int64_t);

RowDot PortableDot(WeightType t) {
  switch (t) {
    case WeightType::kQ8_0:
      return DotQ8_0;
    case WeightType::kQ4_0:
      return DotQ4_0;
    case WeightType::kQ4_K:
      return DotQ4_K;
    case WeightType::kQ6_K:
      return DotQ6_K;
    case WeightType::kF32:
      break;
  }
  return nullptr;
}

}  // namespace

void MatVecRowsQuantPortable(WeightType t, const uint8_t* W, int64_t cols, const QuantizedInput& x,
                             int batch, int64_t rows, float* y, int64_t r0, int64_t r1) {
  const RowDot dot = PortableDot(t);
  const int64_t row_bytes = WeightRowBytes(t, cols), x_bytes = cols / 32 * 34;
  for (int b = 0; b < batch; ++b)
    for (int64_t r = r0; r < r1; ++r)
      y[int64_t{b} * rows + r] = dot(W + r * row_bytes, x.blocks.data() + b * x_bytes,
                                     x.sums.data() + b * (cols / 32), cols);
}

// ---- AVX2: R weight rows against one input row; each input block is loaded once for the R rows.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
namespace {

#define EPARA_AVX2 __attribute__((target("avx2,fma,f16c"), always_inline)) inline

EPARA_AVX2 float HalfScale(const uint8_t* b) {
  uint16_t h;
  std::memcpy(&h, b, 2);
  return _cvtsh_ss(h);
}

EPARA_AVX2 float HorizontalSum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

EPARA_AVX2 __m256i Load32(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// The 8 int32 sums of 4 consecutive products each, unsigned bytes u (< 128) x signed bytes s.
EPARA_AVX2 __m256i Dot4(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Q8_0 x Q8_0: the weights' magnitudes as unsigned bytes against the inputs carrying the weights'
// signs (maddubs multiplies unsigned by signed; 2 x 127 x 127 fits its 16-bit sums).
template <int R>
EPARA_AVX2 void RowsQ8_0(const uint8_t* W, int64_t row_bytes, int64_t blocks, const uint8_t* xb,
                         const float*, int64_t r, float* y) {
  __m256 acc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t k = 0; k < blocks; ++k) {
    const uint8_t* v = xb + k * 34;
    const __m256i qv = Load32(v + 2);
    const float dv = HalfScale(v);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const uint8_t* w = W + (r + i) * row_bytes + k * 34;
      _mm_prefetch(reinterpret_cast<const char*>(w + 256), _MM_HINT_T0);
      const __m256i qw = Load32(w + 2);
      const __m256i p = Dot4(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qv, qw));
      acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(HalfScale(w) * dv), _mm256_cvtepi32_ps(p), acc[i]);
    }
  }
  for (int i = 0; i < R; ++i) y[r + i] = HorizontalSum(acc[i]);
}

// Q4_0: nibbles as unsigned bytes (element j low, j + 16 high), then sum (q - 8) x as
// sum q x - sum 8 x (the second is the same for every row: once per input block).
template <int R>
EPARA_AVX2 void RowsQ4_0(const uint8_t* W, int64_t row_bytes, int64_t blocks, const uint8_t* xb,
                         const float*, int64_t r, float* y) {
  const __m128i low4 = _mm_set1_epi8(0x0f);
  __m256 acc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t k = 0; k < blocks; ++k) {
    const uint8_t* v = xb + k * 34;
    const __m256i qv = Load32(v + 2);
    const __m256i eights = _mm256_maddubs_epi16(_mm256_set1_epi8(8), qv);
    const float dv = HalfScale(v);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const uint8_t* w = W + (r + i) * row_bytes + k * 18;
      _mm_prefetch(reinterpret_cast<const char*>(w + 256), _MM_HINT_T0);
      const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2));
      const __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), low4),
                                         _mm_and_si128(packed, low4));
      const __m256i pairs = _mm256_sub_epi16(_mm256_maddubs_epi16(q, qv), eights);
      const __m256i p = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
      acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(HalfScale(w) * dv), _mm256_cvtepi32_ps(p), acc[i]);
    }
  }
  for (int i = 0; i < R; ++i) y[r + i] = HorizontalSum(acc[i]);
}

// Q4_K: per 64-weight chunk, 32 bytes give sub-blocks 2c (low nibbles) and 2c + 1 (high); each
// sub-block's products are scaled by d * scale; the mins come in through the inputs' block sums.
template <int R>
EPARA_AVX2 void RowsQ4_K(const uint8_t* W, int64_t row_bytes, int64_t blocks, const uint8_t* xb,
                         const float* sums, int64_t r, float* y) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc[R];
  float mins[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps(), mins[i] = 0;
  const int64_t superblocks = blocks / 8;
  for (int64_t sb = 0; sb < superblocks; ++sb) {
    float dv[8];
    for (int s = 0; s < 8; ++s) dv[s] = HalfScale(xb + (sb * 8 + s) * 34);
    const float* xs = sums + sb * 8;
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const uint8_t* o = W + (r + i) * row_bytes + sb * formats::kQ4_KBytes;
      _mm_prefetch(reinterpret_cast<const char*>(o + 288), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(o + 352), _MM_HINT_T0);
      const float d = HalfScale(o), dmin = HalfScale(o + 2);
      // The eight 6-bit scales and mins, unpacked four at a time in 32-bit words.
      uint32_t u[3], sc[2], mn[2];
      std::memcpy(u, o + 4, 12);
      sc[0] = u[0] & 0x3f3f3f3f;
      mn[0] = u[1] & 0x3f3f3f3f;
      sc[1] = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
      mn[1] = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
      uint8_t scale[8], min[8];
      std::memcpy(scale, sc, 8);
      std::memcpy(min, mn, 8);
      float m = 0;
      for (int s = 0; s < 8; ++s) m += static_cast<float>(min[s]) * xs[s];
      mins[i] += dmin * m;
      for (int c = 0; c < 4; ++c) {
        const __m256i q = Load32(o + 16 + 32 * c);
        const __m256i lo = _mm256_and_si256(q, low4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
        const __m256i p0 = Dot4(lo, Load32(xb + (sb * 8 + 2 * c) * 34 + 2));
        const __m256i p1 = Dot4(hi, Load32(xb + (sb * 8 + 2 * c + 1) * 34 + 2));
        acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(d * scale[2 * c] * dv[2 * c]),
                                 _mm256_cvtepi32_ps(p0), acc[i]);
        acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(d * scale[2 * c + 1] * dv[2 * c + 1]),
                                 _mm256_cvtepi32_ps(p1), acc[i]);
      }
    }
  }
  for (int i = 0; i < R; ++i) y[r + i] = HorizontalSum(acc[i]) - mins[i];
}

// Q6_K: per 128-weight half, 64 bytes of low bits and 32 of high bits give four 32-weight
// quarters (unsigned 6-bit q); sum (q - 32) x = sum q x - sum 32 x, and the 8 int32 lanes of a
// quarter's products are its two 16-weight sub-blocks (lanes 0-3 and 4-7), each with its scale.
template <int R>
EPARA_AVX2 void RowsQ6_K(const uint8_t* W, int64_t row_bytes, int64_t blocks, const uint8_t* xb,
                         const float*, int64_t r, float* y) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), low2 = _mm256_set1_epi8(0x03);
  __m256 acc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
  const int64_t superblocks = blocks / 8;
  for (int64_t sb = 0; sb < superblocks; ++sb) {
    __m256i qv[8], thirtytwos[8];
    float dv[8];
    for (int j = 0; j < 8; ++j) {
      const uint8_t* v = xb + (sb * 8 + j) * 34;
      qv[j] = Load32(v + 2);
      thirtytwos[j] = _mm256_maddubs_epi16(_mm256_set1_epi8(32), qv[j]);
      dv[j] = HalfScale(v);
    }
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const uint8_t* o = W + (r + i) * row_bytes + sb * formats::kQ6_KBytes;
      _mm_prefetch(reinterpret_cast<const char*>(o + 420), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(o + 484), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(o + 548), _MM_HINT_T0);
      const auto* scales = reinterpret_cast<const int8_t*>(o + 192);
      const float d = HalfScale(o + 208);
      for (int half = 0; half < 2; ++half) {
        const __m256i la = Load32(o + 64 * half), lb = Load32(o + 64 * half + 32);
        const __m256i h = Load32(o + 128 + 32 * half);
        const __m256i q[4] = {
            _mm256_or_si256(_mm256_and_si256(la, low4),
                            _mm256_slli_epi16(_mm256_and_si256(h, low2), 4)),
            _mm256_or_si256(_mm256_and_si256(lb, low4),
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), low2), 4)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), low4),
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), low2), 4)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), low4),
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), low2), 4)),
        };
        for (int t = 0; t < 4; ++t) {
          const int j = 4 * half + t;
          const __m256i pairs = _mm256_sub_epi16(_mm256_maddubs_epi16(q[t], qv[j]), thirtytwos[j]);
          const __m256i p = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
          const float f = d * dv[j];
          const int8_t* sc = scales + 8 * half + 2 * t;
          const __m256 scale = _mm256_set_m128(_mm_set1_ps(f * sc[1]), _mm_set1_ps(f * sc[0]));
          acc[i] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc[i]);
        }
      }
    }
  }
  for (int i = 0; i < R; ++i) y[r + i] = HorizontalSum(acc[i]);
}

#undef EPARA_AVX2

// Rows in tiles of R (8 for the 32-weight types, 4 for the K-quants: more registers per row),
// one input row at a time.
template <int R, auto Tile, auto Single>
__attribute__((target("avx2,fma,f16c"))) void RowsAvx2(const uint8_t* W, int64_t row_bytes,
                                                       int64_t blocks, const QuantizedInput& x,
                                                       int batch, int64_t rows, float* y,
                                                       int64_t r0, int64_t r1) {
  for (int b = 0; b < batch; ++b) {
    const uint8_t* xb = x.blocks.data() + b * blocks * 34;
    const float* xs = x.sums.data() + b * blocks;
    float* yb = y + int64_t{b} * rows;
    int64_t r = r0;
    for (; r + R <= r1; r += R) Tile(W, row_bytes, blocks, xb, xs, r, yb);
    for (; r < r1; ++r) Single(W, row_bytes, blocks, xb, xs, r, yb);
  }
}

bool HasAvx2() {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                           __builtin_cpu_supports("f16c");
  return avx2;
}

}  // namespace
#endif

void MatVecRowsQuant(WeightType t, const uint8_t* W, int64_t cols, const QuantizedInput& x,
                     int batch, int64_t rows, float* y, int64_t r0, int64_t r1) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  if (HasAvx2()) {
    const int64_t row_bytes = WeightRowBytes(t, cols), blocks = cols / 32;
    switch (t) {
      case WeightType::kQ8_0:
        return RowsAvx2<8, RowsQ8_0<8>, RowsQ8_0<1>>(W, row_bytes, blocks, x, batch, rows, y, r0,
                                                     r1);
      case WeightType::kQ4_0:
        return RowsAvx2<8, RowsQ4_0<8>, RowsQ4_0<1>>(W, row_bytes, blocks, x, batch, rows, y, r0,
                                                     r1);
      case WeightType::kQ4_K:
        return RowsAvx2<4, RowsQ4_K<4>, RowsQ4_K<1>>(W, row_bytes, blocks, x, batch, rows, y, r0,
                                                     r1);
      case WeightType::kQ6_K:
        return RowsAvx2<4, RowsQ6_K<4>, RowsQ6_K<1>>(W, row_bytes, blocks, x, batch, rows, y, r0,
                                                     r1);
      case WeightType::kF32:
        break;
    }
  }
#endif
  MatVecRowsQuantPortable(t, W, cols, x, batch, rows, y, r0, r1);
}

void MatMulRowsQuantT(WeightType t, const uint8_t* W, int64_t cols, const float* xt, int n,
                      int64_t rows, float* y, int64_t r0, int64_t r1) {
  const int64_t row_bytes = WeightRowBytes(t, cols);
  thread_local std::vector<float> tile;        // 8 dequantized rows (8 x 2048 floats: 64 KB at most
  tile.resize(static_cast<size_t>(8 * cols));  // for these models' widths)
  int64_t r = r0;
  for (; r < r1; r += 8) {
    const int count = static_cast<int>(std::min<int64_t>(8, r1 - r));
    // Rows are whole blocks one after another: `count` rows from r are count * cols weights.
    DequantizeWeights(t, W + r * row_bytes, count * cols, tile.data());
    MatMulTileT(tile.data(), count, cols, xt, n, rows, y + r);
  }
}

}  // namespace epara::llm::kernels
