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
    case WeightType::kBF16:
      return "BF16";
  }
  return "?";
}

formats::GgmlType GgmlTypeOf(WeightType t) {
  switch (t) {
    case WeightType::kF32:
      return formats::GgmlType::kF32;
    case WeightType::kQ8_0:
      return formats::GgmlType::kQ8_0;
    case WeightType::kQ4_0:
      return formats::GgmlType::kQ4_0;
    case WeightType::kQ4_K:
      return formats::GgmlType::kQ4_K;
    case WeightType::kQ6_K:
      return formats::GgmlType::kQ6_K;
    case WeightType::kBF16:
      return formats::GgmlType::kBF16;
  }
  return formats::GgmlType::kF32;
}

bool WeightTypeOf(formats::GgmlType g, WeightType* out) {
  for (WeightType t : {WeightType::kF32, WeightType::kQ8_0, WeightType::kQ4_0, WeightType::kQ4_K,
                       WeightType::kQ6_K, WeightType::kBF16})
    if (GgmlTypeOf(t) == g) {
      *out = t;
      return true;
    }
  return false;
}

int WeightBlockElements(WeightType t) {
  return static_cast<int>(formats::GgmlBlockElements(GgmlTypeOf(t)));
}

int WeightBlockBytes(WeightType t) {
  return static_cast<int>(formats::GgmlBlockBytes(GgmlTypeOf(t)));
}

int64_t WeightRowBytes(WeightType t, int64_t cols) {
  return cols / WeightBlockElements(t) * WeightBlockBytes(t);
}

void DequantizeWeightsPortable(WeightType t, const uint8_t* W, int64_t elements, float* out) {
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
    case WeightType::kBF16:
      for (int64_t i = 0; i < elements; ++i) {
        uint16_t b;
        std::memcpy(&b, W + 2 * i, 2);
        out[i] = Bf16ToFloat(b);
      }
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

void QuantizeInput(const float* x, int rows, int64_t cols, QuantizedInput* out, bool q8_0,
                   bool q8_k) {
  if (q8_0) {
    out->blocks.resize(static_cast<size_t>(int64_t{rows} * (cols / 32) * formats::kQ8_0Bytes));
    formats::QuantizeQ8_0(x, int64_t{rows} * cols, out->blocks.data());
  }
  if (!q8_k || cols % 256 != 0) return;
  const int64_t n = int64_t{rows} * cols;
  out->k_scale.resize(static_cast<size_t>(n / 256));
  out->k_q.resize(static_cast<size_t>(n));
  out->k_sum16.resize(static_cast<size_t>(n / 16));
  for (int64_t sb = 0; sb < n / 256; ++sb) {
    const float* v = x + sb * 256;
    float amax = 0;
    for (int i = 0; i < 256; ++i) amax = std::max(amax, std::fabs(v[i]));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    out->k_scale[sb] = d;
    int8_t* q = out->k_q.data() + sb * 256;
    for (int i = 0; i < 256; ++i) q[i] = static_cast<int8_t>(std::nearbyint(v[i] * id));
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += q[16 * g + i];
      out->k_sum16[sb * 16 + g] = static_cast<int16_t>(sum);
    }
  }
}

void DequantizeInput(WeightType t, const QuantizedInput& x, int row, int64_t cols, float* out) {
  if (t == WeightType::kQ4_K || t == WeightType::kQ6_K) {
    for (int64_t i = 0; i < cols; ++i) {
      const int64_t e = int64_t{row} * cols + i;
      out[i] = x.k_scale[e / 256] * x.k_q[e];
    }
    return;
  }
  formats::DequantizeQ8_0(x.blocks.data() + int64_t{row} * (cols / 32) * formats::kQ8_0Bytes, cols,
                          out);
}

// ---- Portable loops: one weight row against one input row, block by block.
namespace {

// x: the input row's Q8_0 blocks and their sums (32 weights per input block).
float DotQ8_0(const uint8_t* w, const uint8_t* x, int64_t cols) {
  float sum = 0;
  for (int64_t k = 0; k < cols / 32; ++k) {
    const uint8_t *wb = w + k * 34, *xb = x + k * 34;
    int32_t dot = 0;
    for (int i = 0; i < 32; ++i) dot += int32_t{Quants(wb)[i]} * Quants(xb)[i];
    sum += Half(wb) * Half(xb) * static_cast<float>(dot);
  }
  return sum;
}

float DotQ4_0(const uint8_t* w, const uint8_t* x, int64_t cols) {
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

// The K-quants take the input row's Q8_K form: scales per 256, values, sums per 16.
float DotQ4_K(const uint8_t* w, const QuantizedInput& x, int64_t row, int64_t cols) {
  float sum = 0;
  for (int64_t sb = 0; sb < cols / 256; ++sb) {
    const int64_t xsb = row * (cols / 256) + sb;
    const int8_t* xq = x.k_q.data() + xsb * 256;
    const int16_t* xs = x.k_sum16.data() + xsb * 16;
    const uint8_t* o = w + sb * formats::kQ4_KBytes;
    const float d = Half(o), dmin = Half(o + 2);
    int32_t dot = 0, mins = 0;
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, mn;
      formats::Q4KScaleMin(o + 4, s, &sc, &mn);
      const uint8_t* q = o + 16 + 32 * (s / 2);
      int32_t part = 0;
      for (int i = 0; i < 32; ++i)
        part += (s % 2 == 0 ? q[i] & 0x0f : q[i] >> 4) * int32_t{xq[32 * s + i]};
      dot += sc * part;
      mins += mn * (xs[2 * s] + xs[2 * s + 1]);
    }
    sum += x.k_scale[xsb] * (d * static_cast<float>(dot) - dmin * static_cast<float>(mins));
  }
  return sum;
}

float DotQ6_K(const uint8_t* w, const QuantizedInput& x, int64_t row, int64_t cols) {
  float sum = 0;
  for (int64_t sb = 0; sb < cols / 256; ++sb) {
    const int64_t xsb = row * (cols / 256) + sb;
    const int8_t* xq = x.k_q.data() + xsb * 256;
    const uint8_t* o = w + sb * formats::kQ6_KBytes;
    const uint8_t *ql = o, *qh = o + 128;
    const auto* scales = reinterpret_cast<const int8_t*>(o + 192);
    int32_t dot = 0;
    for (int e = 0; e < 256; ++e) {
      const int half = e / 128, t = (e % 128) / 32, l = e % 32;
      const uint8_t low = ql[64 * half + 32 * (t % 2) + l];
      const int q =
          ((t < 2 ? low & 0x0f : low >> 4) | (((qh[32 * half + l] >> (2 * t)) & 3) << 4)) - 32;
      dot += scales[8 * half + 2 * t + l / 16] * q * int32_t{xq[e]};
    }
    sum += x.k_scale[xsb] * Half(o + 208) * static_cast<float>(dot);
  }
  return sum;
}

}  // namespace

void MatVecRowsQuantPortable(WeightType t, const uint8_t* W, int64_t cols, const QuantizedInput& x,
                             int batch, int64_t rows, float* y, int64_t r0, int64_t r1) {
  const int64_t row_bytes = WeightRowBytes(t, cols), x_bytes = cols / 32 * 34;
  for (int b = 0; b < batch; ++b)
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* w = W + r * row_bytes;
      const uint8_t* xb = x.blocks.data() + b * x_bytes;
      float& out = y[int64_t{b} * rows + r];
      switch (t) {
        case WeightType::kQ8_0:
          out = DotQ8_0(w, xb, cols);
          break;
        case WeightType::kQ4_0:
          out = DotQ4_0(w, xb, cols);
          break;
        case WeightType::kQ4_K:
          out = DotQ4_K(w, x, b, cols);
          break;
        case WeightType::kQ6_K:
          out = DotQ6_K(w, x, b, cols);
          break;
        case WeightType::kF32:
        case WeightType::kBF16:
          break;
      }
    }
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

EPARA_AVX2 int32_t HorizontalSumI(__m256i v) {
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i t = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  return _mm_cvtsi128_si32(_mm_add_epi32(t, _mm_shuffle_epi32(t, 1)));
}

EPARA_AVX2 __m256i Load32(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// The 8 int32 sums of 4 consecutive products each, unsigned bytes u (< 128) x signed bytes s.
EPARA_AVX2 __m256i Dot4(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// The inputs of one row, as each tile function takes them.
struct RowInput {
  const uint8_t* blocks;  // Q8_0 blocks
  const float* k_scale;   // Q8_K: per 256
  const int8_t* k_q;
  const int16_t* k_sum16;
};

// The 32-weight block types on Q8_0 inputs, a float multiply per block (both scales are per 32):
//   Q8_0: the weights' magnitudes as unsigned bytes against the inputs carrying the weights' signs
//         (maddubs multiplies unsigned by signed; 2 x 127 x 127 fits its 16-bit sums);
//   Q4_0: nibbles as unsigned bytes (element j low, j + 16 high), then sum (q - 8) x as
//         sum q x - sum 8 x (the second is the same for every row: once per input block).
template <int R, bool kQ4>
EPARA_AVX2 void Rows32(const uint8_t* W, int64_t row_bytes, int64_t blocks, const RowInput& x,
                       int64_t r, float* y) {
  constexpr int kBlockBytes = kQ4 ? 18 : 34;
  const __m128i low4 = _mm_set1_epi8(0x0f);
  __m256 acc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t k = 0; k < blocks; ++k) {
    const uint8_t* v = x.blocks + k * 34;
    const __m256i qv = Load32(v + 2);
    const __m256i eights = kQ4 ? _mm256_maddubs_epi16(_mm256_set1_epi8(8), qv) : qv;
    const float dv = HalfScale(v);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const uint8_t* w = W + (r + i) * row_bytes + k * kBlockBytes;
      _mm_prefetch(reinterpret_cast<const char*>(w + R * row_bytes), _MM_HINT_T0);
      __m256i p;
      if constexpr (kQ4) {
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2));
        const __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), low4),
                                           _mm_and_si128(packed, low4));
        p = _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(q, qv), eights),
                              _mm256_set1_epi16(1));
      } else {
        const __m256i qw = Load32(w + 2);
        p = Dot4(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qv, qw));
      }
      acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(HalfScale(w) * dv), _mm256_cvtepi32_ps(p), acc[i]);
    }
  }
  for (int i = 0; i < R; ++i) y[r + i] = HorizontalSum(acc[i]);
}

// Q4_K on Q8_K inputs: per 64-weight chunk, 32 bytes give sub-blocks 2c (low nibbles) and 2c + 1
// (high); each sub-block's 16-bit pair sums are multiplied by its 6-bit scale as they widen to
// 32 bits (madd), so a super-block's products stay integers until one float multiply by d * dx.
// The mins meet the inputs' 16-value sums: dmin * dx * sum_s min_s * (sum of sub-block s).
template <int R>
EPARA_AVX2 void RowsQ4_K(const uint8_t* W, int64_t row_bytes, int64_t blocks, const RowInput& x,
                         int64_t r, float* y) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc[R];
  float mins[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps(), mins[i] = 0;
  const int64_t superblocks = blocks / 8;
  for (int64_t sb = 0; sb < superblocks; ++sb) {
    const int8_t* xq = x.k_q + sb * 256;
    const int16_t* xs = x.k_sum16 + sb * 16;
    const float dx = x.k_scale[sb];
    int32_t sub_sums[8];
    for (int s = 0; s < 8; ++s) sub_sums[s] = xs[2 * s] + xs[2 * s + 1];
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const uint8_t* o = W + (r + i) * row_bytes + sb * formats::kQ4_KBytes;
      // The same super-block of the next tile's row (rows of a few super-blocks end too soon
      // for an in-row distance).
      for (int a = 0; a < 3; ++a)
        _mm_prefetch(reinterpret_cast<const char*>(o + R * row_bytes + 64 * a), _MM_HINT_T0);
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
      int32_t m = 0;
      for (int s = 0; s < 8; ++s) m += min[s] * sub_sums[s];
      __m256i isum = _mm256_setzero_si256();
      for (int c = 0; c < 4; ++c) {
        const __m256i q = Load32(o + 16 + 32 * c);
        const __m256i lo = _mm256_and_si256(q, low4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
        const __m256i p0 =
            _mm256_maddubs_epi16(lo, Load32(reinterpret_cast<const uint8_t*>(xq) + 64 * c));
        const __m256i p1 =
            _mm256_maddubs_epi16(hi, Load32(reinterpret_cast<const uint8_t*>(xq) + 64 * c + 32));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p0, _mm256_set1_epi16(scale[2 * c])));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p1, _mm256_set1_epi16(scale[2 * c + 1])));
      }
      const float d = HalfScale(o) * dx;
      acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc[i]);
      mins[i] += HalfScale(o + 2) * dx * static_cast<float>(m);
    }
  }
  for (int i = 0; i < R; ++i) y[r + i] = HorizontalSum(acc[i]) - mins[i];
}

// Q6_K on Q8_K inputs: per 128-weight half, 64 bytes of low bits and 32 of high bits give four
// 32-weight quarters (unsigned 6-bit q); each quarter's pair sums are multiplied by its two
// 16-weight scales as they widen (lanes 0-7: the first 16 weights, 8-15: the next), and the
// offset 32 comes off through the inputs' 16-value sums: 32 * sum_g scale_g * sum_g.
template <int R>
EPARA_AVX2 void RowsQ6_K(const uint8_t* W, int64_t row_bytes, int64_t blocks, const RowInput& x,
                         int64_t r, float* y) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), low2 = _mm256_set1_epi8(0x03);
  __m256 acc[R];
  float offs[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps(), offs[i] = 0;
  const int64_t superblocks = blocks / 8;
  for (int64_t sb = 0; sb < superblocks; ++sb) {
    const auto* xq = reinterpret_cast<const uint8_t*>(x.k_q + sb * 256);
    const __m256i xs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.k_sum16 + sb * 16));
    const float dx = x.k_scale[sb];
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const uint8_t* o = W + (r + i) * row_bytes + sb * formats::kQ6_KBytes;
      for (int a = 0; a < 4; ++a)
        _mm_prefetch(reinterpret_cast<const char*>(o + R * row_bytes + 64 * a), _MM_HINT_T0);
      const auto* scales = reinterpret_cast<const int8_t*>(o + 192);
      // 32 * sum_g scale_g * xsum_g over the 16 groups, in one madd.
      const __m256i sc16 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales)));
      const __m256i off = _mm256_madd_epi16(sc16, xs);
      __m256i isum = _mm256_setzero_si256();
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
          const int8_t* sc = scales + 8 * half + 2 * t;
          const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[1]), _mm_set1_epi16(sc[0]));
          const __m256i pairs = _mm256_maddubs_epi16(q[t], Load32(xq + 128 * half + 32 * t));
          isum = _mm256_add_epi32(isum, _mm256_madd_epi16(pairs, scale));
        }
      }
      const float d = HalfScale(o + 208) * dx;
      acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc[i]);
      offs[i] += d * 32.0f * static_cast<float>(HorizontalSumI(off));
    }
  }
  for (int i = 0; i < R; ++i) y[r + i] = HorizontalSum(acc[i]) - offs[i];
}

#undef EPARA_AVX2

// Rows in tiles of R, one input row at a time.
template <int R, auto Tile, auto Single>
__attribute__((target("avx2,fma,f16c"))) void RowsAvx2(const uint8_t* W, int64_t row_bytes,
                                                       int64_t cols, const QuantizedInput& x,
                                                       int batch, int64_t rows, float* y,
                                                       int64_t r0, int64_t r1) {
  const int64_t blocks = cols / 32;
  for (int b = 0; b < batch; ++b) {
    // Only the forms QuantizeInput filled for this product (the tile reads the one its type needs).
    const bool q8_0 = x.blocks.size() >= static_cast<size_t>((b + 1) * blocks * 34);
    const bool k = cols % 256 == 0 && x.k_q.size() >= static_cast<size_t>((b + 1) * cols);
    const RowInput in{q8_0 ? x.blocks.data() + b * blocks * 34 : nullptr,
                      k ? x.k_scale.data() + b * (cols / 256) : nullptr,
                      k ? x.k_q.data() + b * cols : nullptr,
                      k ? x.k_sum16.data() + b * (cols / 16) : nullptr};
    float* yb = y + int64_t{b} * rows;
    int64_t r = r0;
    for (; r + R <= r1; r += R) Tile(W, row_bytes, blocks, in, r, yb);
    for (; r < r1; ++r) Single(W, row_bytes, blocks, in, r, yb);
  }
}

// ---- AVX2 dequantization into F32 tiles (prompts): whole blocks, no per-weight branches.

// 32 int8 values in a register as floats times `scale` (per 8 values: lanes of s0..s3).
__attribute__((target("avx2,fma,f16c"), always_inline)) inline void StoreScaled(
    __m256i q, __m256 s0, __m256 s1, __m256 s2, __m256 s3, float* out) {
  const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
  _mm256_storeu_ps(out, _mm256_mul_ps(s0, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
  _mm256_storeu_ps(
      out + 8, _mm256_mul_ps(s1, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
  _mm256_storeu_ps(out + 16, _mm256_mul_ps(s2, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
  _mm256_storeu_ps(
      out + 24, _mm256_mul_ps(s3, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
}

__attribute__((target("avx2,fma,f16c"))) void DequantizeAvx2(WeightType t, const uint8_t* W,
                                                             int64_t elements, float* out) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), low2 = _mm256_set1_epi8(0x03);
  switch (t) {
    case WeightType::kQ8_0:
      for (int64_t k = 0; k < elements / 32; ++k) {
        const uint8_t* b = W + k * 34;
        const __m256 d = _mm256_set1_ps(HalfScale(b));
        StoreScaled(Load32(b + 2), d, d, d, d, out + k * 32);
      }
      return;
    case WeightType::kQ4_0:
      for (int64_t k = 0; k < elements / 32; ++k) {
        const uint8_t* b = W + k * 18;
        const __m256 d = _mm256_set1_ps(HalfScale(b));
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2));
        const __m256i q = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
        StoreScaled(_mm256_sub_epi8(_mm256_and_si256(q, low4), _mm256_set1_epi8(8)), d, d, d, d,
                    out + k * 32);
      }
      return;
    case WeightType::kQ4_K:
      for (int64_t k = 0; k < elements / 256; ++k) {
        const uint8_t* o = W + k * formats::kQ4_KBytes;
        const float d = HalfScale(o), dmin = HalfScale(o + 2);
        float* y = out + k * 256;
        for (int c = 0; c < 4; ++c) {
          const __m256i q = Load32(o + 16 + 32 * c);
          for (int h = 0; h < 2; ++h) {
            uint8_t sc, mn;
            formats::Q4KScaleMin(o + 4, 2 * c + h, &sc, &mn);
            const __m256i v = _mm256_and_si256(h == 0 ? q : _mm256_srli_epi16(q, 4), low4);
            const __m256 scale = _mm256_set1_ps(d * sc);
            float* yy = y + 64 * c + 32 * h;
            StoreScaled(v, scale, scale, scale, scale, yy);
            const __m256 m = _mm256_set1_ps(dmin * mn);
            for (int j = 0; j < 32; j += 8)
              _mm256_storeu_ps(yy + j, _mm256_sub_ps(_mm256_loadu_ps(yy + j), m));
          }
        }
      }
      return;
    case WeightType::kQ6_K:
      for (int64_t k = 0; k < elements / 256; ++k) {
        const uint8_t* o = W + k * formats::kQ6_KBytes;
        const auto* scales = reinterpret_cast<const int8_t*>(o + 192);
        const float d = HalfScale(o + 208);
        for (int half = 0; half < 2; ++half) {
          const __m256i la = Load32(o + 64 * half), lb = Load32(o + 64 * half + 32);
          const __m256i h = Load32(o + 128 + 32 * half);
          for (int t4 = 0; t4 < 4; ++t4) {
            const __m256i l = t4 % 2 == 0 ? la : lb;
            const __m256i low = _mm256_and_si256(t4 < 2 ? l : _mm256_srli_epi16(l, 4), low4);
            const __m256i high = _mm256_and_si256(t4 == 0 ? h : _mm256_srli_epi16(h, 2 * t4), low2);
            const __m256i q = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 4)),
                                              _mm256_set1_epi8(32));
            const int8_t* sc = scales + 8 * half + 2 * t4;
            const __m256 s0 = _mm256_set1_ps(d * sc[0]), s1 = _mm256_set1_ps(d * sc[1]);
            StoreScaled(q, s0, s0, s1, s1, out + k * 256 + 128 * half + 32 * t4);
          }
        }
      }
      return;
    case WeightType::kF32:
      std::memcpy(out, W, elements * sizeof(float));
      return;
    case WeightType::kBF16: {
      int64_t i = 0;
      for (; i + 8 <= elements; i += 8) {  // widen to 32 bits, then into the top half
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(W + 2 * i));
        _mm256_storeu_ps(out + i,
                         _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16)));
      }
      DequantizeWeightsPortable(t, W + 2 * i, elements - i, out + i);
      return;
    }
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
    const int64_t row_bytes = WeightRowBytes(t, cols);
    switch (t) {
      case WeightType::kQ8_0:
        return RowsAvx2<8, Rows32<8, false>, Rows32<1, false>>(W, row_bytes, cols, x, batch, rows,
                                                               y, r0, r1);
      case WeightType::kQ4_0:
        return RowsAvx2<8, Rows32<8, true>, Rows32<1, true>>(W, row_bytes, cols, x, batch, rows, y,
                                                             r0, r1);
      case WeightType::kQ4_K:
        return RowsAvx2<4, RowsQ4_K<4>, RowsQ4_K<1>>(W, row_bytes, cols, x, batch, rows, y, r0, r1);
      case WeightType::kQ6_K:
        return RowsAvx2<4, RowsQ6_K<4>, RowsQ6_K<1>>(W, row_bytes, cols, x, batch, rows, y, r0, r1);
      case WeightType::kF32:
      case WeightType::kBF16:
        break;
    }
  }
#endif
  MatVecRowsQuantPortable(t, W, cols, x, batch, rows, y, r0, r1);
}

void DequantizeWeights(WeightType t, const uint8_t* W, int64_t elements, float* out) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  if (HasAvx2()) return DequantizeAvx2(t, W, elements, out);
#endif
  DequantizeWeightsPortable(t, W, elements, out);
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
