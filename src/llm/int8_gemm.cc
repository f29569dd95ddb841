#include "llm/int8_gemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "formats/ggml_quant.h"
#include "llm/avx512_panel.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define EPARA_INT8_X86 1
// GCC 12's AVX-512 headers build casts and reductions on _mm512_undefined_*(), which its
// -Wuninitialized reports at every inlined use (a known false positive of those headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace epara::llm::kernels {

namespace {

float Half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

// Columns per weight group: the span one scale covers.
int GroupColumns(WeightType t) { return t == WeightType::kQ6_K ? 16 : 32; }

// Row `row`'s scale and offset for each group (UnpackInt8Panel's contract), lane `lane` of the
// panel's [groups, 16] arrays.
void GroupScales(WeightType t, const uint8_t* row, int64_t cols, int lane, float* scale,
                 float* offset) {
  switch (t) {
    case WeightType::kQ8_0:
    case WeightType::kQ4_0: {
      const int bytes = t == WeightType::kQ8_0 ? formats::kQ8_0Bytes : formats::kQ4_0Bytes;
      const float bias = t == WeightType::kQ8_0 ? 128.0f : 8.0f;
      for (int64_t g = 0; g < cols / 32; ++g) {
        const float d = Half(row + g * bytes);
        scale[g * 16 + lane] = d;
        offset[g * 16 + lane] = -bias * d;
      }
      return;
    }
    case WeightType::kQ4_K:
      for (int64_t sb = 0; sb < cols / 256; ++sb) {
        const uint8_t* o = row + sb * formats::kQ4_KBytes;
        const float d = Half(o), dmin = Half(o + 2);
        for (int s = 0; s < 8; ++s) {
          uint8_t sc, mn;
          formats::Q4KScaleMin(o + 4, s, &sc, &mn);
          scale[(sb * 8 + s) * 16 + lane] = d * sc;
          offset[(sb * 8 + s) * 16 + lane] = -dmin * mn;
        }
      }
      return;
    case WeightType::kQ6_K:
      for (int64_t sb = 0; sb < cols / 256; ++sb) {
        const uint8_t* o = row + sb * formats::kQ6_KBytes;
        const auto* sc = reinterpret_cast<const int8_t*>(o + 192);
        const float d = Half(o + 208);
        for (int s = 0; s < 16; ++s) {
          scale[(sb * 16 + s) * 16 + lane] = d * sc[s];
          offset[(sb * 16 + s) * 16 + lane] = -32.0f * d * sc[s];
        }
      }
      return;
    case WeightType::kF32:
    case WeightType::kBF16:
      return;
  }
}

void QuantizeGroupPortable(const float* v, int8_t* q, float* scale, float* sum32, float* sum16) {
  float amax = 0;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(v[i]));
  const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
  int s[2] = {0, 0};
  for (int i = 0; i < 32; ++i) {
    q[i] = static_cast<int8_t>(std::nearbyint(v[i] * id));
    s[i / 16] += q[i];
  }
  *scale = d;
  *sum32 = d * static_cast<float>(s[0] + s[1]);
  sum16[0] = d * static_cast<float>(s[0]);
  sum16[1] = d * static_cast<float>(s[1]);
}

}  // namespace

void PrepareInt8Rows(int n, int64_t cols, Int8Rows* out) {
  out->n = n;
  out->cols = cols;
  const auto size = static_cast<size_t>(int64_t{n} * cols);
  out->q.resize(size);
  out->scale32.resize(size / 32);
  out->sum32.resize(size / 32);
  out->sum16.resize(size / 16);
}

bool Int8GemmSupports(WeightType t) {
  return t == WeightType::kQ8_0 || t == WeightType::kQ4_0 || t == WeightType::kQ4_K ||
         t == WeightType::kQ6_K;
}

#ifdef EPARA_INT8_X86
namespace {

#define EPARA_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c")))
#define EPARA_VNNI_INLINE                                                          \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c"), \
                 always_inline)) inline

EPARA_VNNI void QuantizeGroupVnni(const float* v, int8_t* q, float* scale, float* sum32,
                                  float* sum16) {
  const __m512 a = _mm512_loadu_ps(v), b = _mm512_loadu_ps(v + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
  const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
  const __m512 vid = _mm512_set1_ps(id);
  // Rounding to nearest even, as std::nearbyint in the default mode.
  const __m512i qa = _mm512_cvtps_epi32(_mm512_mul_ps(a, vid));
  const __m512i qb = _mm512_cvtps_epi32(_mm512_mul_ps(b, vid));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtsepi32_epi8(qa));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtsepi32_epi8(qb));
  const int sa = _mm512_reduce_add_epi32(qa), sb = _mm512_reduce_add_epi32(qb);
  *scale = d;
  *sum32 = d * static_cast<float>(sa + sb);
  sum16[0] = d * static_cast<float>(sa);
  sum16[1] = d * static_cast<float>(sb);
}

// One row's 64 columns [64 c, 64 c + 64) as unsigned bytes (zeros past the row's end).
EPARA_VNNI_INLINE __m512i Chunk(WeightType t, const uint8_t* row, int64_t cols, int64_t c) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const bool two = 64 * c + 64 <= cols;  // else 32 columns are left (Q8_0 / Q4_0)
  switch (t) {
    case WeightType::kQ8_0: {
      const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
      const uint8_t* b = row + 2 * c * formats::kQ8_0Bytes + 2;
      const __m256i lo =
          _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)), flip);
      const __m256i hi =
          two ? _mm256_xor_si256(
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + formats::kQ8_0Bytes)),
                    flip)
              : _mm256_setzero_si256();
      return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    }
    case WeightType::kQ4_0: {
      const uint8_t* b = row + 2 * c * formats::kQ4_0Bytes + 2;
      const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
      const __m128i q1 =
          two ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + formats::kQ4_0Bytes))
              : _mm_setzero_si128();
      const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
      const __m256i lo = _mm256_and_si256(v, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
      // [lo(q0), lo(q1), hi(q0), hi(q1)] -> [lo(q0), hi(q0), lo(q1), hi(q1)]
      const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
      const __m512i r = _mm512_shuffle_i32x4(z, z, 0xD8);
      return two ? r : _mm512_inserti64x4(r, _mm256_setzero_si256(), 1);
    }
    case WeightType::kQ4_K: {
      const uint8_t* o = row + (c / 4) * formats::kQ4_KBytes;
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(o + 16 + 32 * (c % 4)));
      const __m256i lo = _mm256_and_si256(v, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
      return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    }
    case WeightType::kQ6_K: {
      const uint8_t* o = row + (c / 4) * formats::kQ6_KBytes;
      const int part = static_cast<int>(c % 4), half = part / 2, t0 = 2 * (part % 2);
      const __m512i ql = _mm512_loadu_si512(o + 64 * half);
      const __m512i nib =
          _mm512_and_si512(part % 2 == 0 ? ql : _mm512_srli_epi16(ql, 4), _mm512_set1_epi8(0x0f));
      const __m512i qh = _mm512_broadcast_i64x4(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(o + 128 + 32 * half)));
      // Columns [0, 32) take bits 2 t0.. of qh, columns [32, 64) bits 2 t0 + 2..
      const __m512i shift =
          _mm512_inserti64x4(_mm512_set1_epi16(static_cast<short>(2 * t0)),
                             _mm256_set1_epi16(static_cast<short>(2 * t0 + 2)), 1);
      const __m512i h = _mm512_and_si512(_mm512_srlv_epi16(qh, shift), _mm512_set1_epi8(3));
      return _mm512_or_si512(nib, _mm512_slli_epi16(h, 4));
    }
    case WeightType::kF32:
    case WeightType::kBF16:
      break;
  }
  return _mm512_setzero_si512();
}

EPARA_VNNI void UnpackPanelVnni(WeightType t, const uint8_t* W, int64_t cols, int64_t r0, int count,
                                uint8_t* panel, float* scale, float* offset) {
  const int64_t row_bytes = WeightRowBytes(t, cols);
  const int64_t groups = cols / GroupColumns(t);
  std::fill(scale, scale + groups * 16, 0.0f);
  std::fill(offset, offset + groups * 16, 0.0f);
  for (int lane = 0; lane < count; ++lane)
    GroupScales(t, W + (r0 + lane) * row_bytes, cols, lane, scale, offset);
  __m512i r[16];
  for (int64_t c = 0; c < (cols + 63) / 64; ++c) {
    for (int lane = 0; lane < 16; ++lane)
      r[lane] =
          lane < count ? Chunk(t, W + (r0 + lane) * row_bytes, cols, c) : _mm512_setzero_si512();
    Transpose16(r, panel + c * 16 * 64);
  }
}

// B input rows [b0, b0 + B) against one panel; G columns per group.
template <int G, int B>
EPARA_VNNI void PanelTile(const uint8_t* panel, const float* scale, const float* offset,
                          const Int8Rows& x, int b0, float* y, int64_t rows, __mmask16 mask) {
  constexpr int kPieces = G / 4;  // 4-column pieces per group
  const int64_t cols = x.cols, groups = cols / G;
  __m512 acc[B];
  const int8_t* xq[B];
  const float* xs[B];
  const float* xsum[B];
  for (int b = 0; b < B; ++b) {
    acc[b] = _mm512_setzero_ps();
    xq[b] = x.q.data() + (b0 + b) * cols;
    xs[b] = x.scale32.data() + (b0 + b) * (cols / 32);
    xsum[b] =
        G == 32 ? x.sum32.data() + (b0 + b) * (cols / 32) : x.sum16.data() + (b0 + b) * (cols / 16);
  }
  for (int64_t g = 0; g < groups; ++g) {
    __m512i w[kPieces];
    for (int j = 0; j < kPieces; ++j) w[j] = _mm512_loadu_si512(panel + (g * kPieces + j) * 64);
    const __m512 sc = _mm512_loadu_ps(scale + g * 16), off = _mm512_loadu_ps(offset + g * 16);
    for (int b = 0; b < B; ++b) {
      __m512i sum = _mm512_setzero_si512();
      for (int j = 0; j < kPieces; ++j) {
        int32_t piece;
        std::memcpy(&piece, xq[b] + g * G + 4 * j, 4);
        sum = _mm512_dpbusd_epi32(sum, w[j], _mm512_set1_epi32(piece));
      }
      const float s = xs[b][G == 32 ? g : g / 2];
      acc[b] =
          _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(sc, _mm512_set1_ps(s)), acc[b]);
      acc[b] = _mm512_fmadd_ps(off, _mm512_set1_ps(xsum[b][g]), acc[b]);
    }
  }
  for (int b = 0; b < B; ++b) _mm512_mask_storeu_ps(y + (b0 + b) * rows, mask, acc[b]);
}

template <int G>
void PanelRows(const uint8_t* panel, const float* scale, const float* offset, const Int8Rows& x,
               float* y, int64_t rows, __mmask16 mask) {
  ForInputTiles(x.n, [&](auto tile, int b0) {
    PanelTile<G, decltype(tile)::value>(panel, scale, offset, x, b0, y, rows, mask);
  });
}

bool HasVnni() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                         __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("fma") &&
                         __builtin_cpu_supports("f16c");
  return ok;
}

}  // namespace
#endif

void QuantizeInt8Rows(const float* x, int r0, int r1, Int8Rows* out) {
  const int64_t cols = out->cols;
  for (int64_t b = r0; b < r1; ++b) {
    for (int64_t g = 0; g < cols / 32; ++g) {
      const int64_t e = b * cols + g * 32;
      int8_t* q = out->q.data() + e;
      float* scale = out->scale32.data() + e / 32;
      float* sum32 = out->sum32.data() + e / 32;
      float* sum16 = out->sum16.data() + e / 16;
#ifdef EPARA_INT8_X86
      if (HasVnni()) {
        QuantizeGroupVnni(x + e, q, scale, sum32, sum16);
        continue;
      }
#endif
      QuantizeGroupPortable(x + e, q, scale, sum32, sum16);
    }
  }
}

bool Int8GemmAvailable() {
#ifdef EPARA_INT8_X86
  return HasVnni();
#else
  return false;
#endif
}

void UnpackInt8Panel(WeightType t, const uint8_t* W, int64_t cols, int64_t r0, int count,
                     uint8_t* panel, float* scale, float* offset) {
#ifdef EPARA_INT8_X86
  UnpackPanelVnni(t, W, cols, r0, count, panel, scale, offset);
#else
  (void)t, (void)W, (void)cols, (void)r0, (void)count, (void)panel, (void)scale, (void)offset;
#endif
}

void Int8MatMulRows(WeightType t, const uint8_t* W, const Int8Rows& x, int64_t rows, float* y,
                    int64_t r0, int64_t r1) {
#ifdef EPARA_INT8_X86
  const int64_t cols = x.cols;
  const int gc = GroupColumns(t);
  // The panel (16 x cols bytes, padded to 64 columns) and its per-group scales, per thread.
  thread_local std::vector<uint8_t> panel;
  thread_local std::vector<float> scale, offset;
  panel.resize(static_cast<size_t>((cols + 63) / 64 * 64 * 16));
  scale.resize(static_cast<size_t>(cols / gc * 16));
  offset.resize(scale.size());
  for (int64_t r = r0; r < r1; r += 16) {
    const int count = static_cast<int>(std::min<int64_t>(16, r1 - r));
    UnpackPanelVnni(t, W, cols, r, count, panel.data(), scale.data(), offset.data());
    const auto mask = static_cast<__mmask16>((1u << count) - 1);
    if (gc == 32)
      PanelRows<32>(panel.data(), scale.data(), offset.data(), x, y + r, rows, mask);
    else
      PanelRows<16>(panel.data(), scale.data(), offset.data(), x, y + r, rows, mask);
  }
#else
  (void)t, (void)W, (void)x, (void)rows, (void)y, (void)r0, (void)r1;
#endif
}

}  // namespace epara::llm::kernels
