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

// Every tile below is R weight rows x B input rows: each weight block is decoded into registers
// once and meets the B inputs (a decode step of B sequences reads and unpacks the weights once;
// one input at a time, batch 4 cost 3.6x batch 1). x[b] / y[b]: input b's forms and output row.

// The 32-weight block types on Q8_0 inputs, a float multiply per block (both scales are per 32):
//   Q8_0: the weights' magnitudes as unsigned bytes against the inputs carrying the weights' signs
//         (maddubs multiplies unsigned by signed; 2 x 127 x 127 fits its 16-bit sums);
//   Q4_0: nibbles as unsigned bytes (element j low, j + 16 high), then sum (q - 8) x as
//         sum q x - sum 8 x (the second is the same for every row: once per input block).
template <int R, int B, bool kQ4>
EPARA_AVX2 void Rows32(const uint8_t* W, int64_t row_bytes, int64_t blocks, const RowInput* x,
                       int64_t r, float* const* y) {
  constexpr int kBlockBytes = kQ4 ? 18 : 34;
  const __m128i low4 = _mm_set1_epi8(0x0f);
  __m256 acc[R][B];
  for (int i = 0; i < R; ++i)
    for (int b = 0; b < B; ++b) acc[i][b] = _mm256_setzero_ps();
  for (int64_t k = 0; k < blocks; ++k) {
    __m256i qv[B], eights[B];
    float dv[B];
    for (int b = 0; b < B; ++b) {
      const uint8_t* v = x[b].blocks + k * 34;
      qv[b] = Load32(v + 2);
      eights[b] = kQ4 ? _mm256_maddubs_epi16(_mm256_set1_epi8(8), qv[b]) : qv[b];
      dv[b] = HalfScale(v);
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const uint8_t* w = W + (r + i) * row_bytes + k * kBlockBytes;
      _mm_prefetch(reinterpret_cast<const char*>(w + R * row_bytes), _MM_HINT_T0);
      const float dw = HalfScale(w);
      if constexpr (kQ4) {
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2));
        const __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), low4),
                                           _mm_and_si128(packed, low4));
        for (int b = 0; b < B; ++b) {
          const __m256i p = _mm256_madd_epi16(
              _mm256_sub_epi16(_mm256_maddubs_epi16(q, qv[b]), eights[b]), _mm256_set1_epi16(1));
          acc[i][b] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dv[b]), _mm256_cvtepi32_ps(p), acc[i][b]);
        }
      } else {
        const __m256i qw = Load32(w + 2);
        const __m256i magnitude = _mm256_sign_epi8(qw, qw);
        for (int b = 0; b < B; ++b) {
          const __m256i p = Dot4(magnitude, _mm256_sign_epi8(qv[b], qw));
          acc[i][b] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dv[b]), _mm256_cvtepi32_ps(p), acc[i][b]);
        }
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int b = 0; b < B; ++b) y[b][r + i] = HorizontalSum(acc[i][b]);
}

// Q4_K on Q8_K inputs: per 64-weight chunk, 32 bytes give sub-blocks 2c (low nibbles) and 2c + 1
// (high); each sub-block's 16-bit pair sums are multiplied by its 6-bit scale as they widen to
// 32 bits (madd), so a super-block's products stay integers until one float multiply by d * dx.
// The mins meet the inputs' 16-value sums: dmin * dx * sum_s min_s * (sum of sub-block s).
template <int R, int B>
EPARA_AVX2 void RowsQ4_K(const uint8_t* W, int64_t row_bytes, int64_t blocks, const RowInput* x,
                         int64_t r, float* const* y) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc[R][B];
  __m128 mins[R][B];  // dmin * dx * (mins . sub-block sums), 4 lanes summed at the end
  for (int i = 0; i < R; ++i)
    for (int b = 0; b < B; ++b) acc[i][b] = _mm256_setzero_ps(), mins[i][b] = _mm_setzero_ps();
  const int64_t superblocks = blocks / 8;
  for (int64_t sb = 0; sb < superblocks; ++sb) {
    const uint8_t* xq[B];
    float dx[B];
    __m128i sub_sums[B];  // the 8 sub-blocks' input sums (pairs of 16-value sums; < 2^12)
    for (int b = 0; b < B; ++b) {
      xq[b] = reinterpret_cast<const uint8_t*>(x[b].k_q + sb * 256);
      dx[b] = x[b].k_scale[sb];
      const auto* xs = reinterpret_cast<const __m128i*>(x[b].k_sum16 + sb * 16);
      sub_sums[b] = _mm_hadd_epi16(_mm_loadu_si128(xs), _mm_loadu_si128(xs + 1));
    }
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
      uint8_t scale[8];
      std::memcpy(scale, sc, 8);
      const __m128i min16 =
          _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(mn[1]), static_cast<int>(mn[0])));
      __m256i isum[B];
      for (int b = 0; b < B; ++b) isum[b] = _mm256_setzero_si256();
      for (int c = 0; c < 4; ++c) {
        const __m256i q = Load32(o + 16 + 32 * c);
        const __m256i lo = _mm256_and_si256(q, low4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
        const __m256i s_lo = _mm256_set1_epi16(scale[2 * c]),
                      s_hi = _mm256_set1_epi16(scale[2 * c + 1]);
        for (int b = 0; b < B; ++b) {
          const __m256i p0 = _mm256_maddubs_epi16(lo, Load32(xq[b] + 64 * c));
          const __m256i p1 = _mm256_maddubs_epi16(hi, Load32(xq[b] + 64 * c + 32));
          isum[b] = _mm256_add_epi32(
              isum[b], _mm256_add_epi32(_mm256_madd_epi16(p0, s_lo), _mm256_madd_epi16(p1, s_hi)));
        }
      }
      const float d = HalfScale(o), dmin = HalfScale(o + 2);
      for (int b = 0; b < B; ++b) {
        acc[i][b] =
            _mm256_fmadd_ps(_mm256_set1_ps(d * dx[b]), _mm256_cvtepi32_ps(isum[b]), acc[i][b]);
        mins[i][b] = _mm_fmadd_ps(_mm_set1_ps(dmin * dx[b]),
                                  _mm_cvtepi32_ps(_mm_madd_epi16(min16, sub_sums[b])), mins[i][b]);
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int b = 0; b < B; ++b) {
      __m128 m = _mm_add_ps(mins[i][b], _mm_movehl_ps(mins[i][b], mins[i][b]));
      m = _mm_add_ss(m, _mm_movehdup_ps(m));
      y[b][r + i] = HorizontalSum(acc[i][b]) - _mm_cvtss_f32(m);
    }
}

// Q6_K on Q8_K inputs: per 128-weight half, 64 bytes of low bits and 32 of high bits give four
// 32-weight quarters (unsigned 6-bit q); each quarter's pair sums are multiplied by its two
// 16-weight scales as they widen (lanes 0-7: the first 16 weights, 8-15: the next), and the
// offset 32 comes off through the inputs' 16-value sums: 32 * sum_g scale_g * sum_g.
template <int R, int B>
EPARA_AVX2 void RowsQ6_K(const uint8_t* W, int64_t row_bytes, int64_t blocks, const RowInput* x,
                         int64_t r, float* const* y) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), low2 = _mm256_set1_epi8(0x03);
  __m256 acc[R][B];
  for (int i = 0; i < R; ++i)
    for (int b = 0; b < B; ++b) acc[i][b] = _mm256_setzero_ps();
  const int64_t superblocks = blocks / 8;
  for (int64_t sb = 0; sb < superblocks; ++sb) {
    const uint8_t* xq[B];
    __m256i xs[B];
    float dx[B];
    for (int b = 0; b < B; ++b) {
      xq[b] = reinterpret_cast<const uint8_t*>(x[b].k_q + sb * 256);
      xs[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].k_sum16 + sb * 16));
      dx[b] = x[b].k_scale[sb];
    }
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const uint8_t* o = W + (r + i) * row_bytes + sb * formats::kQ6_KBytes;
      for (int a = 0; a < 4; ++a)
        _mm_prefetch(reinterpret_cast<const char*>(o + R * row_bytes + 64 * a), _MM_HINT_T0);
      const auto* scales = reinterpret_cast<const int8_t*>(o + 192);
      // 32 * sum_g scale_g * xsum_g over the 16 groups, in one madd.
      const __m256i sc16 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales)));
      __m256i isum[B];
      for (int b = 0; b < B; ++b) isum[b] = _mm256_setzero_si256();
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
          for (int b = 0; b < B; ++b) {
            const __m256i pairs = _mm256_maddubs_epi16(q[t], Load32(xq[b] + 128 * half + 32 * t));
            isum[b] = _mm256_add_epi32(isum[b], _mm256_madd_epi16(pairs, scale));
          }
        }
      }
      const float d = HalfScale(o + 208);
      for (int b = 0; b < B; ++b) {
        // The offset shares the super-block's scale: it comes off the integer sums lane by lane
        // (|sum| < 2^26 per lane: 32 products of 63 x 127 x 127).
        const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc16, xs[b]), 5);
        acc[i][b] = _mm256_fmadd_ps(_mm256_set1_ps(d * dx[b]),
                                    _mm256_cvtepi32_ps(_mm256_sub_epi32(isum[b], off)), acc[i][b]);
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int b = 0; b < B; ++b) y[b][r + i] = HorizontalSum(acc[i][b]);
}

#undef EPARA_AVX2

// Q4_0 against one input where the CPU has VNNI (256-bit, EVEX): one vpdpbusd per block instead of
// maddubs, the 8-offset subtraction and madd; the offset starts each block's sums (-8 x the input
// block's 4-value sums, once per input block for the R rows). R rows per tile.
template <int R>
__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni"))) void Q4_0RowsVnni(
    const uint8_t* W, int64_t row_bytes, int64_t blocks, const uint8_t* x, float* y, int64_t r0,
    int64_t r1) {
  const __m128i low4 = _mm_set1_epi8(0x0f);
  int64_t r = r0;
  for (; r + R <= r1; r += R) {
    __m256 acc[R];
    for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t k = 0; k < blocks; ++k) {
      const uint8_t* v = x + k * 34;
      const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + 2));
      const __m256i start =
          _mm256_sub_epi32(_mm256_setzero_si256(),
                           _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), qv));
      uint16_t hx;
      std::memcpy(&hx, v, 2);
      const float dx = _cvtsh_ss(hx);
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        const uint8_t* w = W + (r + i) * row_bytes + k * 18;
        _mm_prefetch(reinterpret_cast<const char*>(w + R * row_bytes), _MM_HINT_T0);
        uint16_t hw;
        std::memcpy(&hw, w, 2);
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2));
        const __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), low4),
                                           _mm_and_si128(packed, low4));
        const __m256i p = _mm256_dpbusd_epi32(start, q, qv);
        acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(hw) * dx), _mm256_cvtepi32_ps(p), acc[i]);
      }
    }
    for (int i = 0; i < R; ++i) {
      const __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[i]), _mm256_extractf128_ps(acc[i], 1));
      const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
      y[r + i] = _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
    }
  }
  if (r < r1) Q4_0RowsVnni<1>(W, row_bytes, blocks, x, y, r, r1);
}

// The tiles of one weight type, by rows and inputs per tile.
struct Q8_0Tiles {
  template <int R, int B>
  __attribute__((target("avx2,fma,f16c"), always_inline)) static void Run(
      const uint8_t* W, int64_t rb, int64_t blocks, const RowInput* x, int64_t r, float* const* y) {
    Rows32<R, B, false>(W, rb, blocks, x, r, y);
  }
};
struct Q4_0Tiles {
  template <int R, int B>
  __attribute__((target("avx2,fma,f16c"), always_inline)) static void Run(
      const uint8_t* W, int64_t rb, int64_t blocks, const RowInput* x, int64_t r, float* const* y) {
    Rows32<R, B, true>(W, rb, blocks, x, r, y);
  }
};
struct Q4_KTiles {
  template <int R, int B>
  __attribute__((target("avx2,fma,f16c"), always_inline)) static void Run(
      const uint8_t* W, int64_t rb, int64_t blocks, const RowInput* x, int64_t r, float* const* y) {
    RowsQ4_K<R, B>(W, rb, blocks, x, r, y);
  }
};
struct Q6_KTiles {
  template <int R, int B>
  __attribute__((target("avx2,fma,f16c"), always_inline)) static void Run(
      const uint8_t* W, int64_t rb, int64_t blocks, const RowInput* x, int64_t r, float* const* y) {
    RowsQ6_K<R, B>(W, rb, blocks, x, r, y);
  }
};

// Rows [r0, r1) against B inputs: tiles of R rows, then single rows.
template <class Tiles, int R, int B>
__attribute__((target("avx2,fma,f16c"), always_inline)) inline void RowRange(
    const uint8_t* W, int64_t row_bytes, int64_t blocks, const RowInput* x, float* const* y,
    int64_t r0, int64_t r1) {
  int64_t r = r0;
  for (; r + R <= r1; r += R) Tiles::template Run<R, B>(W, row_bytes, blocks, x, r, y);
  for (; r < r1; ++r) Tiles::template Run<1, B>(W, row_bytes, blocks, x, r, y);
}

// Inputs in groups of up to 4, each group one pass over the rows: a single input takes tiles of
// R1 rows (R1 x 1 accumulators), groups of 2-4 tiles of 2 rows (up to 8 accumulators: the 16
// AVX2 registers also hold the decoded weights and the inputs).
template <class Tiles, int R1>
__attribute__((target("avx2,fma,f16c"))) void RowsAvx2(const uint8_t* W, int64_t row_bytes,
                                                       int64_t cols, const QuantizedInput& x,
                                                       int batch, int64_t rows, float* y,
                                                       int64_t r0, int64_t r1) {
  const int64_t blocks = cols / 32;
  for (int b0 = 0; b0 < batch; b0 += 4) {
    const int nb = std::min(4, batch - b0);
    RowInput in[4];
    float* out[4];
    for (int j = 0; j < nb; ++j) {
      const int b = b0 + j;
      // Only the forms QuantizeInput filled for this product (the tile reads the one its type
      // needs).
      const bool q8_0 = x.blocks.size() >= static_cast<size_t>((b + 1) * blocks * 34);
      const bool k = cols % 256 == 0 && x.k_q.size() >= static_cast<size_t>((b + 1) * cols);
      in[j] = {q8_0 ? x.blocks.data() + b * blocks * 34 : nullptr,
               k ? x.k_scale.data() + b * (cols / 256) : nullptr,
               k ? x.k_q.data() + b * cols : nullptr,
               k ? x.k_sum16.data() + b * (cols / 16) : nullptr};
      out[j] = y + int64_t{b} * rows;
    }
    switch (nb) {
      case 1:
        RowRange<Tiles, R1, 1>(W, row_bytes, blocks, in, out, r0, r1);
        break;
      case 2:
        RowRange<Tiles, 2, 2>(W, row_bytes, blocks, in, out, r0, r1);
        break;
      case 3:
        RowRange<Tiles, 2, 3>(W, row_bytes, blocks, in, out, r0, r1);
        break;
      default:
        RowRange<Tiles, 2, 4>(W, row_bytes, blocks, in, out, r0, r1);
        break;
    }
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

bool HasVnni256() {
  static const bool vnni = __builtin_cpu_supports("avx512vl") &&
                           __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx2") &&
                           __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  return vnni;
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
  if (t == WeightType::kQ4_0 && batch == 1 && HasVnni256())
    return Q4_0RowsVnni<8>(W, WeightRowBytes(t, cols), cols / 32, x.blocks.data(), y, r0, r1);
  if (HasAvx2()) {
    const int64_t row_bytes = WeightRowBytes(t, cols);
    switch (t) {
      case WeightType::kQ8_0:
        return RowsAvx2<Q8_0Tiles, 8>(W, row_bytes, cols, x, batch, rows, y, r0, r1);
      case WeightType::kQ4_0:
        return RowsAvx2<Q4_0Tiles, 8>(W, row_bytes, cols, x, batch, rows, y, r0, r1);
      case WeightType::kQ4_K:
        return RowsAvx2<Q4_KTiles, 4>(W, row_bytes, cols, x, batch, rows, y, r0, r1);
      case WeightType::kQ6_K:
        return RowsAvx2<Q6_KTiles, 4>(W, row_bytes, cols, x, batch, rows, y, r0, r1);
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
