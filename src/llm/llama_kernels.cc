#include "llm/llama_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/cpu_dispatch.h"
#include "core/half.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace epara::llm::kernels {
namespace {

// e^x for float, ~2 ulp on [-87, 88] (inputs clamped there): Cody-Waite range reduction and a
// degree-6 polynomial, written in plain arithmetic so loops over it vectorize (std::exp is a
// scalar libm call; with it SiLU and softmax took ~20% of a batch-16 step).
inline float FastExp(float x) {
  x = std::min(88.0f, std::max(-87.0f, x));
  const float n = std::nearbyint(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &p, sizeof(bits));
  bits += static_cast<int32_t>(n) << 23;
  std::memcpy(&p, &bits, sizeof(p));
  return p;
}

inline float Silu(float v) { return v / (1.0f + FastExp(-v)); }

}  // namespace

// Register tiles: R weight rows x B sequences, 16 lanes along the shared inner dimension. Each
// weight load feeds B products and each input load R. At batch 16 the step is compute-bound and
// one-dot-at-a-time code reached ~1/4 of what these tiles do.
typedef float V16 __attribute__((vector_size(64)));

// out[l] = sum of all lanes of v[l] (a transpose-and-add tree: 45 vector ops
// instead of 16 x 15 scalar adds, which cost as much as the products at 512 columns).
__attribute__((always_inline)) inline void ReduceLanes16(const V16* v, float* out) {
  V16 s1[8], s2[4], s3[2];
  for (int i = 0; i < 8; ++i)
    s1[i] = __builtin_shufflevector(v[2 * i], v[2 * i + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19,
                                    20, 21, 22, 23) +
            __builtin_shufflevector(v[2 * i], v[2 * i + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25,
                                    26, 27, 28, 29, 30, 31);
  for (int i = 0; i < 4; ++i)
    s2[i] = __builtin_shufflevector(s1[2 * i], s1[2 * i + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18,
                                    19, 24, 25, 26, 27) +
            __builtin_shufflevector(s1[2 * i], s1[2 * i + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21,
                                    22, 23, 28, 29, 30, 31);
  for (int i = 0; i < 2; ++i)
    s3[i] = __builtin_shufflevector(s2[2 * i], s2[2 * i + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20,
                                    21, 24, 25, 28, 29) +
            __builtin_shufflevector(s2[2 * i], s2[2 * i + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19,
                                    22, 23, 26, 27, 30, 31);
  const V16 t = __builtin_shufflevector(s3[0], s3[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
                                        26, 28, 30) +
                __builtin_shufflevector(s3[0], s3[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25,
                                        27, 29, 31);
  std::memcpy(out, &t, sizeof(t));
}

// 16 weights as floats: F32 loaded; bfloat16 widened to 32 bits and shifted into the top half.
// (Written through a pointer: a 64-byte vector returned by value draws GCC's ABI note.)
__attribute__((always_inline)) inline void Load16(const float* p, V16* v) {
  std::memcpy(v, p, sizeof(V16));
}
typedef uint16_t U16x16 __attribute__((vector_size(32)));
typedef uint32_t U32x16 __attribute__((vector_size(64)));
__attribute__((always_inline)) inline void Load16(const uint16_t* p, V16* v) {
  U16x16 h;
  std::memcpy(&h, p, sizeof(h));
  const U32x16 w = __builtin_convertvector(h, U32x16) << 16;
  std::memcpy(v, &w, sizeof(V16));
}
inline float ToFloat(float w) { return w; }
inline float ToFloat(uint16_t w) { return Bf16ToFloat(w); }

template <int R, int B, typename TW, bool kPrefetch = false>
__attribute__((always_inline)) inline void DotTile(const TW* W, int64_t cols, const float* x,
                                                   int64_t rows, int64_t r, int64_t b, float* y) {
  V16 acc[R * B] = {};
  int64_t k = 0;
  for (; k + 16 <= cols; k += 16) {
    if constexpr (kPrefetch) {
      // The next tile's rows at this position, one cache line per row per 64 bytes.
      if ((k * sizeof(TW)) % 64 == 0)
        for (int i = 0; i < R; ++i) __builtin_prefetch(W + (r + R + i) * cols + k, 0, 1);
    }
    V16 w[R], v[B];
    for (int i = 0; i < R; ++i) Load16(W + (r + i) * cols + k, &w[i]);
    for (int j = 0; j < B; ++j) std::memcpy(&v[j], x + (b + j) * cols + k, sizeof(V16));
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < B; ++j) acc[i * B + j] += w[i] * v[j];
  }
  float sums[R * B];
  if constexpr (R * B == 16) {
    ReduceLanes16(acc, sums);
  } else {
    for (int i = 0; i < R * B; ++i) {
      sums[i] = 0;
      for (int l = 0; l < 16; ++l) sums[i] += acc[i][l];
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < B; ++j) {
      float s = sums[i * B + j];
      for (int64_t kk = k; kk < cols; ++kk)
        s += ToFloat(W[(r + i) * cols + kk]) * x[(b + j) * cols + kk];
      y[(b + j) * rows + r + i] = s;
    }
}

template <typename TW>
__attribute__((always_inline)) inline void MatVecRowsOf(const TW* W, int64_t cols, const float* x,
                                                        int batch, int64_t rows, float* y,
                                                        int64_t r0, int64_t r1) {
  int64_t r = r0;
  if (batch < 4) {  // 16 rows at a time, one sequence at a time (rows stay in L1 across them)
    for (; r + 32 <= r1; r += 16)
      for (int b = 0; b < batch; ++b) {
        // bfloat16 rows: the next tile's rows prefetched (decode 5.4 -> 3.9 ms per token on the
        // 134M shape; F32 rows, a cache line per step each, gained nothing measurable).
        if (b == 0)
          DotTile<16, 1, TW, std::is_same_v<TW, uint16_t>>(W, cols, x, rows, r, b, y);
        else
          DotTile<16, 1>(W, cols, x, rows, r, b, y);
      }
    for (; r + 16 <= r1; r += 16)
      for (int b = 0; b < batch; ++b) DotTile<16, 1>(W, cols, x, rows, r, b, y);
  } else {
    for (; r + 4 <= r1; r += 4) {
      int b = 0;
      for (; b + 4 <= batch; b += 4) DotTile<4, 4>(W, cols, x, rows, r, b, y);
      for (; b < batch; ++b) DotTile<4, 1>(W, cols, x, rows, r, b, y);
    }
  }
  for (; r < r1; ++r)
    for (int b = 0; b < batch; ++b) DotTile<1, 1>(W, cols, x, rows, r, b, y);
}

EPARA_CPU_CLONES void MatVecRows(const float* W, int64_t cols, const float* x, int batch,
                                 int64_t rows, float* y, int64_t r0, int64_t r1) {
  MatVecRowsOf(W, cols, x, batch, rows, y, r0, r1);
}

EPARA_CPU_CLONES void MatVecRowsBf16(const uint16_t* W, int64_t cols, const float* x, int batch,
                                     int64_t rows, float* y, int64_t r0, int64_t r1) {
  MatVecRowsOf(W, cols, x, batch, rows, y, r0, r1);
}

// R weight rows x 16 sequences, two inner steps at a time (2R accumulators in flight hide the
// FMA latency); the weight is a scalar broadcast, the 16 sequences' inputs one vector.
// kPrefetch: the next R rows (the next tile, contiguous after this one) are prefetched one cache
// line per inner step (8R bytes = 64 for R = 8), so they arrive while this tile computes. The
// weights come from DRAM once per step; without it one core's tile ran at ~100 GFLOP/s from DRAM
// against ~130 from cache (a single-core microbenchmark; ~120 with it).
template <int R, bool kPrefetch>
__attribute__((always_inline)) inline void OuterTile(const float* W, int64_t cols, const float* xt,
                                                     int64_t rows, int64_t r, int batch, float* y) {
  V16 a0[R] = {}, a1[R] = {};
  const float* w[R];
  for (int i = 0; i < R; ++i) w[i] = W + (r + i) * cols;
  [[maybe_unused]] const char* next = reinterpret_cast<const char*>(W + (r + R) * cols);
  int64_t k = 0;
  for (; k + 2 <= cols; k += 2) {
    if constexpr (kPrefetch) __builtin_prefetch(next + k * 4 * R, 0, 1);
    V16 x0, x1;
    std::memcpy(&x0, xt + k * 16, sizeof(V16));
    std::memcpy(&x1, xt + (k + 1) * 16, sizeof(V16));
    for (int i = 0; i < R; ++i) {
      a0[i] += w[i][k] * x0;
      a1[i] += w[i][k + 1] * x1;
    }
  }
  for (; k < cols; ++k) {
    V16 x0;
    std::memcpy(&x0, xt + k * 16, sizeof(V16));
    for (int i = 0; i < R; ++i) a0[i] += w[i][k] * x0;
  }
  for (int i = 0; i < R; ++i) {
    const V16 sum = a0[i] + a1[i];
    for (int b = 0; b < batch; ++b) y[b * rows + r + i] = sum[b];
  }
}

EPARA_CPU_CLONES void MatVecRowsT(const float* W, int64_t cols, const float* xt, int batch,
                                  int64_t rows, float* y, int64_t r0, int64_t r1) {
  int64_t r = r0;
  // Every tile but a range's last prefetches the one after it (the range is one worker's chunk).
  for (; r + 16 <= r1; r += 8) OuterTile<8, true>(W, cols, xt, rows, r, batch, y);
  for (; r + 8 <= r1; r += 8) OuterTile<8, false>(W, cols, xt, rows, r, batch, y);
  for (; r < r1; ++r) OuterTile<1, false>(W, cols, xt, rows, r, batch, y);
}

EPARA_CPU_CLONES void MatMulRowsT(const float* W, int64_t cols, const float* xt, int n,
                                  int64_t rows, float* y, int64_t r0, int64_t r1) {
  const int groups = (n + 15) / 16;
  const auto group = [&](int g) { return xt + int64_t{g} * cols * 16; };
  const auto width = [&](int g) { return std::min(16, n - g * 16); };
  int64_t r = r0;
  // The last group's pass over a tile prefetches the next tile's rows.
  for (; r + 16 <= r1; r += 8) {
    for (int g = 0; g + 1 < groups; ++g)
      OuterTile<8, false>(W, cols, group(g), rows, r, width(g), y + int64_t{g} * 16 * rows);
    OuterTile<8, true>(W, cols, group(groups - 1), rows, r, width(groups - 1),
                       y + int64_t{groups - 1} * 16 * rows);
  }
  for (; r + 8 <= r1; r += 8)
    for (int g = 0; g < groups; ++g)
      OuterTile<8, false>(W, cols, group(g), rows, r, width(g), y + int64_t{g} * 16 * rows);
  for (; r < r1; ++r)
    for (int g = 0; g < groups; ++g)
      OuterTile<1, false>(W, cols, group(g), rows, r, width(g), y + int64_t{g} * 16 * rows);
}

namespace {

EPARA_CPU_CLONES void MatMulTileTImpl(const float* tile, int count, int64_t cols, const float* xt,
                                      int n, int64_t rows, float* y) {
  const int groups = (n + 15) / 16;
  for (int g = 0; g < groups; ++g) {
    const float* xg = xt + int64_t{g} * cols * 16;
    float* yg = y + int64_t{g} * 16 * rows;
    const int width = std::min(16, n - g * 16);
    if (count == 8) {
      OuterTile<8, false>(tile, cols, xg, rows, 0, width, yg);
    } else {
      for (int i = 0; i < count; ++i) OuterTile<1, false>(tile, cols, xg, rows, i, width, yg);
    }
  }
}

}  // namespace

void MatMulTileT(const float* tile, int count, int64_t cols, const float* xt, int n, int64_t rows,
                 float* y) {
  MatMulTileTImpl(tile, count, cols, xt, n, rows, y);
}

// One step of a 16 x 16 in-register transpose: rows i and i + B (i / B even) swap their
// off-diagonal B-wide blocks. B = 8, 4, 2, 1 in turn transposes the whole tile (64 shuffles for
// 256 floats, where the scalar loop does 256 strided loads: 4-5x faster at 512-1408 columns).
template <int B, int... J>
__attribute__((always_inline)) inline void SwapBlocks(V16* a, V16* b,
                                                      std::integer_sequence<int, J...>) {
  const V16 x = *a, y = *b;
  *a = __builtin_shufflevector(x, y, ((J / B) % 2 == 0 ? J : 16 + J - B)...);
  *b = __builtin_shufflevector(x, y, ((J / B) % 2 == 0 ? J + B : 16 + J)...);
}
template <int B>
__attribute__((always_inline)) inline void TransposeStage(V16* r) {
  constexpr auto lanes = std::make_integer_sequence<int, 16>{};
  for (int i = 0; i < 16; ++i)
    if ((i / B) % 2 == 0) SwapBlocks<B>(&r[i], &r[i + B], lanes);
}

EPARA_CPU_CLONES void TransposeTo16(const float* x, int64_t cols, int n, float* xt) {
  int64_t k0 = 0;
  for (; k0 + 16 <= cols; k0 += 16) {
    V16 r[16];
    for (int j = 0; j < 16; ++j)
      if (j < n)
        std::memcpy(&r[j], x + j * cols + k0, sizeof(V16));
      else
        r[j] = V16{};
    TransposeStage<8>(r);
    TransposeStage<4>(r);
    TransposeStage<2>(r);
    TransposeStage<1>(r);
    for (int kk = 0; kk < 16; ++kk) std::memcpy(xt + (k0 + kk) * 16, &r[kk], sizeof(V16));
  }
  for (int64_t k = k0; k < cols; ++k) {
    float* o = xt + k * 16;
    int j = 0;
    for (; j < n; ++j) o[j] = x[j * cols + k];
    for (; j < 16; ++j) o[j] = 0.0f;
  }
}

EPARA_CPU_CLONES void SwiGlu(const float* gate_up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = Silu(gate_up[i]) * gate_up[n + i];
}

EPARA_CPU_CLONES void RmsNorm(const float* x, const float* w, int64_t n, float eps, float* out) {
  // 16 float partial sums, added in double: one running double sum was a chain of dependent adds
  // (~0.6 us per 512 elements, twice per layer and sequence).
  V16 acc = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    V16 v;
    std::memcpy(&v, x + i, sizeof(V16));
    acc += v * v;
  }
  double ss = 0;
  for (int l = 0; l < 16; ++l) ss += acc[l];
  for (; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
  for (i = 0; i < n; ++i) out[i] = x[i] * inv * w[i];
}

void ApplyRope(float* v, int64_t heads, int64_t head_dim, const float* cos, const float* sin) {
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < heads; ++h) {
    float* p = v + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const float a = p[i], b = p[i + half];
      p[i] = a * cos[i] - b * sin[i];
      p[i + half] = b * cos[i + half] + a * sin[i + half];
    }
  }
}

// The largest and the sum of n floats, 16 lanes at a time: as scalar reductions (which do not
// vectorize without -ffast-math) they took about a third of attention's arithmetic at 96 positions.
__attribute__((always_inline)) inline float MaxOf(const float* v, int64_t n) {
  V16 m = V16{} - INFINITY;
  int64_t t = 0;
  for (; t + 16 <= n; t += 16) {
    V16 x;
    std::memcpy(&x, v + t, sizeof(V16));
    m = x > m ? x : m;
  }
  float r = -INFINITY;
  for (int l = 0; l < 16; ++l) r = std::max(r, m[l]);
  for (; t < n; ++t) r = std::max(r, v[t]);
  return r;
}

__attribute__((always_inline)) inline float SumOf(const float* v, int64_t n) {
  V16 a = {};
  int64_t t = 0;
  for (; t + 16 <= n; t += 16) {
    V16 x;
    std::memcpy(&x, v + t, sizeof(V16));
    a += x;
  }
  float r = 0;
  for (int l = 0; l < 16; ++l) r += a[l];
  for (; t < n; ++t) r += v[t];
  return r;
}

// o[d0, d0 + 16 J) = scale * sum over t of p[t] * V[t * dim + d]: the sums stay in registers, two
// keys at a time (the loop that added into `o` in memory reloaded each column right after storing
// it, a store-to-load chain per key: ~3/4 of the attention time at batch 16).
// kAdd: o[d] += the sum instead (attention over a cache converted in chunks).
template <int J, bool kAdd>
__attribute__((always_inline)) inline void WeightedColumns(const float* p, const float* V,
                                                           int64_t total, int64_t dim, int64_t d0,
                                                           float scale, float* o) {
  V16 a[J] = {}, b[J] = {};
  int64_t t = 0;
  for (; t + 2 <= total; t += 2) {
    const float* v0 = V + t * dim + d0;
    const float* v1 = v0 + dim;
    for (int j = 0; j < J; ++j) {
      V16 x0, x1;
      std::memcpy(&x0, v0 + 16 * j, sizeof(V16));
      std::memcpy(&x1, v1 + 16 * j, sizeof(V16));
      a[j] += p[t] * x0;
      b[j] += p[t + 1] * x1;
    }
  }
  for (; t < total; ++t)
    for (int j = 0; j < J; ++j) {
      V16 x;
      std::memcpy(&x, V + t * dim + d0 + 16 * j, sizeof(V16));
      a[j] += p[t] * x;
    }
  for (int j = 0; j < J; ++j) {
    V16 r = (a[j] + b[j]) * scale;
    if constexpr (kAdd) {
      V16 prev;
      std::memcpy(&prev, o + d0 + 16 * j, sizeof(V16));
      r += prev;
    }
    std::memcpy(o + d0 + 16 * j, &r, sizeof(V16));
  }
}

// o[d] = scale * sum over t of p[t] * V[t * dim + d] for d < dim: 64 columns at a time, then 16
// (head_dim 48 or 80), then single columns. kAdd: adds to o instead.
template <bool kAdd = false>
__attribute__((always_inline)) inline void WeightedRowSum(const float* p, const float* V,
                                                          int64_t total, int64_t dim, float scale,
                                                          float* o) {
  int64_t d0 = 0;
  for (; d0 + 64 <= dim; d0 += 64) WeightedColumns<4, kAdd>(p, V, total, dim, d0, scale, o);
  for (; d0 + 16 <= dim; d0 += 16) WeightedColumns<1, kAdd>(p, V, total, dim, d0, scale, o);
  for (; d0 < dim; ++d0) {
    float acc = 0;
    for (int64_t t = 0; t < total; ++t) acc += p[t] * V[t * dim + d0];
    o[d0] = kAdd ? o[d0] + acc * scale : acc * scale;
  }
}

// Cached positions converted from fp16 per chunk: 64 rows of head_dim 64 are 16 KB, in L1.
constexpr int64_t kHalfChunk = 64;

// A per-thread buffer of at least n floats.
float* ThreadBuffer(std::vector<float>* b, int64_t n) {
  if (b->size() < static_cast<size_t>(n)) b->resize(static_cast<size_t>(n));
  return b->data();
}

// scores[r * total + t] for r < rows, t < total, from the fp16 keys converted a chunk at a time:
// tile(keys, n, tmp) writes the chunk's [rows, n] scores to tmp.
template <class Tile>
__attribute__((always_inline)) inline void ChunkedScores(const uint16_t* K, int64_t total,
                                                         int64_t head_dim, int64_t rows,
                                                         float* scores, Tile&& tile) {
  thread_local std::vector<float> keys, tmp;
  float* kb = ThreadBuffer(&keys, kHalfChunk * head_dim);
  float* tb = ThreadBuffer(&tmp, kHalfChunk * rows);
  for (int64_t t0 = 0; t0 < total; t0 += kHalfChunk) {
    const int64_t n = std::min(kHalfChunk, total - t0);
    HalfToFloatN(K + t0 * head_dim, n * head_dim, kb);
    tile(kb, n, tb);
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(scores + r * total + t0, tb + r * n, n * sizeof(float));
  }
}

// out_r = sum over t < seen(r) of p_r[t] * V[t] * inv_sum[r] for r < rows, from fp16 values
// converted a chunk at a time (each chunk read once for all rows). p_r = scores + r * total.
template <class Seen, class Out>
__attribute__((always_inline)) inline void ChunkedValues(const uint16_t* V, int64_t total,
                                                         int64_t head_dim, int64_t rows,
                                                         const float* scores, const float* inv_sum,
                                                         Seen&& seen, Out&& out) {
  thread_local std::vector<float> values;
  float* vb = ThreadBuffer(&values, kHalfChunk * head_dim);
  for (int64_t r = 0; r < rows; ++r) std::memset(out(r), 0, head_dim * sizeof(float));
  for (int64_t t0 = 0; t0 < total; t0 += kHalfChunk) {
    const int64_t n = std::min(kHalfChunk, total - t0);
    bool needed = false;
    for (int64_t r = 0; r < rows && !needed; ++r) needed = seen(r) > t0;
    if (!needed) break;
    HalfToFloatN(V + t0 * head_dim, n * head_dim, vb);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t m = std::min(n, seen(r) - t0);
      if (m > 0) WeightedRowSum<true>(scores + r * total + t0, vb, m, head_dim, inv_sum[r], out(r));
    }
  }
}

EPARA_CPU_CLONES void AttendGroup(const float* q, int64_t group, const float* K, const float* V,
                                  int64_t total, int64_t head_dim, float scale, float* scores,
                                  float* out) {
  // scores[i, t] = q_i . K_t: a product against the cached keys, tiled like the weights.
  MatVecRows(K, head_dim, q, static_cast<int>(group), total, scores, 0, total);
  for (int64_t i = 0; i < group; ++i) {
    float* sc = scores + i * total;
    const float max_score = MaxOf(sc, total) * scale;  // scale > 0
    for (int64_t t = 0; t < total; ++t) sc[t] = FastExp(sc[t] * scale - max_score);
    WeightedRowSum(sc, V, total, head_dim, 1.0f / SumOf(sc, total), out + i * head_dim);
  }
}

// The query rows (token j = r / group, head r % group) transposed: qt[d * 16 + r].
inline void TransposeQueries(const float* q, int64_t q_stride, int64_t rows, int64_t group,
                             int64_t head_dim, float* qt) {
  for (int64_t d = 0; d < head_dim; ++d) {
    float* o = qt + d * 16;
    for (int64_t r = 0; r < 16; ++r)
      o[r] = r < rows ? q[(r / group) * q_stride + (r % group) * head_dim + d] : 0.0f;
  }
}

EPARA_CPU_CLONES void AttendGroupHalf(const float* q, int64_t group, const uint16_t* K,
                                      const uint16_t* V, int64_t total, int64_t head_dim,
                                      float scale, float* scores, float* out) {
  ChunkedScores(K, total, head_dim, group, scores, [&](const float* keys, int64_t n, float* tmp) {
    MatVecRows(keys, head_dim, q, static_cast<int>(group), n, tmp, 0, n);
  });
  thread_local std::vector<float> inv;
  float* inv_sum = ThreadBuffer(&inv, group);
  for (int64_t i = 0; i < group; ++i) {
    float* sc = scores + i * total;
    const float max_score = MaxOf(sc, total) * scale;  // scale > 0
    for (int64_t t = 0; t < total; ++t) sc[t] = FastExp(sc[t] * scale - max_score);
    inv_sum[i] = 1.0f / SumOf(sc, total);
  }
  ChunkedValues(
      V, total, head_dim, group, scores, inv_sum, [&](int64_t) { return total; },
      [&](int64_t i) { return out + i * head_dim; });
}

EPARA_CPU_CLONES void AttendCausal(const float* q, int64_t q_stride, int64_t n, int64_t group,
                                   int64_t p0, const float* K, const float* V, int64_t head_dim,
                                   float scale, float* scores, float* qt, float* out,
                                   int64_t out_stride) {
  const int64_t rows = n * group, total = p0 + n;
  // The query rows transposed ([head_dim, 16]), then every key against all of them at once.
  TransposeQueries(q, q_stride, rows, group, head_dim, qt);
  MatVecRowsT(K, head_dim, qt, static_cast<int>(rows), total, scores, 0, total);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t j = r / group, seen = p0 + j + 1;  // causal: positions [0, p0 + j]
    float* sc = scores + r * total;
    const float max_score = MaxOf(sc, seen) * scale;  // scale > 0
    for (int64_t t = 0; t < seen; ++t) sc[t] = FastExp(sc[t] * scale - max_score);
    WeightedRowSum(sc, V, seen, head_dim, 1.0f / SumOf(sc, seen),
                   out + j * out_stride + (r % group) * head_dim);
  }
}

EPARA_CPU_CLONES void AttendCausalHalf(const float* q, int64_t q_stride, int64_t n, int64_t group,
                                       int64_t p0, const uint16_t* K, const uint16_t* V,
                                       int64_t head_dim, float scale, float* scores, float* qt,
                                       float* out, int64_t out_stride) {
  const int64_t rows = n * group, total = p0 + n;
  TransposeQueries(q, q_stride, rows, group, head_dim, qt);
  ChunkedScores(K, total, head_dim, rows, scores, [&](const float* keys, int64_t m, float* tmp) {
    MatVecRowsT(keys, head_dim, qt, static_cast<int>(rows), m, tmp, 0, m);
  });
  thread_local std::vector<float> inv;
  float* inv_sum = ThreadBuffer(&inv, rows);
  const auto seen = [&](int64_t r) { return p0 + r / group + 1; };  // causal: [0, p0 + j]
  for (int64_t r = 0; r < rows; ++r) {
    float* sc = scores + r * total;
    const float max_score = MaxOf(sc, seen(r)) * scale;  // scale > 0
    for (int64_t t = 0; t < seen(r); ++t) sc[t] = FastExp(sc[t] * scale - max_score);
    inv_sum[r] = 1.0f / SumOf(sc, seen(r));
  }
  ChunkedValues(V, total, head_dim, rows, scores, inv_sum, seen,
                [&](int64_t r) { return out + (r / group) * out_stride + (r % group) * head_dim; });
}

void ForwardStep(const ModelWeights& w, std::span<const StepToken> seqs, SpinPool& pool,
                 StepScratch* s, const float* hidden_in, float* out) {
  const int batch = static_cast<int>(seqs.size());
  const int64_t H = w.hidden, I = w.intermediate, nh = w.heads, nkv = w.kv_heads, hd = w.head_dim,
                g = nh / nkv, QKV = (nh + 2 * nkv) * hd;
  int64_t max_total = 0;
  bool shared_cache = false;  // a prompt chunk: tokens of one sequence in this step
  for (int b = 0; b < batch; ++b) {
    max_total = std::max(max_total, seqs[b].position + 1);
    if (b > 0 && !seqs[b].k.empty() && seqs[b].k[0] == seqs[b - 1].k[0]) shared_cache = true;
  }
  // With a prompt chunk: runs of consecutive tokens of one sequence, at most 16 query rows each
  // (tokens x the query heads of one KV head), for AttendCausal. Tokens of other sequences are
  // blocks of one.
  std::vector<std::pair<int64_t, int64_t>>& blocks = s->blocks;  // (first token, tokens)
  blocks.clear();
  if (shared_cache) {
    const int64_t per_block = std::max<int64_t>(1, 16 / g);
    for (int64_t b = 0; b < batch; ++b) {
      const bool extends = !blocks.empty() && blocks.back().second < per_block &&
                           seqs[b].k[0] == seqs[b - 1].k[0] &&
                           seqs[b].position == seqs[b - 1].position + 1;
      if (extends)
        ++blocks.back().second;
      else
        blocks.emplace_back(b, 1);
    }
  }
  // With an fp16 cache, a chunk of several tokens attends in several blocks, each of which would
  // convert the chunk's whole prefix again: the prefix is converted once per layer into `staged`
  // ([nkv][positions][hd] keys, then values, per chunk) and the blocks read floats.
  std::vector<int64_t>&block_stage = s->block_stage, &block_total = s->block_total;
  block_stage.assign(blocks.size(), -1);
  block_total.assign(blocks.size(), 0);
  std::vector<std::pair<size_t, size_t>>& staged_chunks = s->staged_chunks;
  staged_chunks.clear();
  int64_t staged_floats = 0;
  if (w.kv_type == KvType::kF16) {
    for (size_t i = 0; i < blocks.size();) {
      size_t j = i + 1;
      while (j < blocks.size() && seqs[blocks[j].first].k[0] == seqs[blocks[i].first].k[0]) ++j;
      const auto [b_last, n_last] = blocks[j - 1];
      const int64_t total = seqs[b_last + n_last - 1].position + 1;
      if (b_last + n_last - blocks[i].first > 1) {  // several tokens: staged
        staged_chunks.emplace_back(i, j - i);
        for (size_t k = i; k < j; ++k) {
          block_stage[k] = staged_floats;
          block_total[k] = total;
        }
        staged_floats += 2 * nkv * total * hd;
      }
      i = j;
    }
  }
  s->staged.resize(static_cast<size_t>(staged_floats));
  s->x.resize(batch * H);
  s->h.resize(batch * H);
  s->qkv.resize(batch * QKV);
  s->attn.resize(batch * nh * hd);
  s->gate_up.resize(batch * 2 * I);
  s->act.resize(batch * I);
  float *x = s->x.data(), *h = s->h.data(), *qkv = s->qkv.data(), *attn = s->attn.data(),
        *gate_up = s->gate_up.data(), *act = s->act.data();

  // Each weight product splits its output rows across the workers; 64 rows of 2 KB (H = 512)
  // is far above the fork/join cost. `n` rows of input.
  const auto matvec = [&](const WeightMatrix& W, int64_t rows, int64_t cols, const float* in, int n,
                          float* y) {
    // fn(part, first row of the part, local rows [lo, hi)) for each part within rows [r0, r1).
    const auto for_parts = [&](int64_t r0, int64_t r1, auto&& fn) {
      int64_t base = 0;
      for (const WeightPart& p : W.parts) {
        const int64_t lo = std::max(r0, base), hi = std::min(r1, base + p.rows);
        if (lo < hi) fn(p, base, lo - base, hi - base);
        base += p.rows;
      }
    };
    // Below kTransposedMinBatch input rows: dot-product tiles. Block-quantized weights' dot tiles
    // take their inputs as Q8_0 blocks or Q8_K super-blocks (the forms the parts' types multiply):
    // quantized here, once per product. F32 and BF16 weights meet the float inputs.
    bool q8_0 = false, q8_k = false;
    for (const WeightPart& p : W.parts) {
      q8_0 = q8_0 || p.type == WeightType::kQ8_0 || p.type == WeightType::kQ4_0;
      q8_k = q8_k || p.type == WeightType::kQ4_K || p.type == WeightType::kQ6_K;
    }
    const bool quantized = q8_0 || q8_k;
    const auto dots = [&](const float* x, int count, float* out, int64_t r0, int64_t r1) {
      for_parts(r0, r1, [&](const WeightPart& p, int64_t base, int64_t lo, int64_t hi) {
        if (p.type == WeightType::kF32)
          MatVecRows(static_cast<const float*>(p.data), cols, x, count, rows, out + base, lo, hi);
        else if (p.type == WeightType::kBF16)
          MatVecRowsBf16(static_cast<const uint16_t*>(p.data), cols, x, count, rows, out + base, lo,
                         hi);
        else
          MatVecRowsQuant(p.type, static_cast<const uint8_t*>(p.data), cols, s->xq, count, rows,
                          out + base, lo, hi);
      });
    };
    // Many inputs: int8 panels for block-quantized weights where the CPU has VNNI, bfloat16
    // panels for bfloat16 weights where it has AVX512-BF16.
    bool int8 = w.panel_products && quantized && n >= kInt8MinBatch && cols % 32 == 0 &&
                Int8GemmAvailable();
    for (const WeightPart& p : W.parts) int8 = int8 && Int8GemmSupports(p.type);
    bool bf16 = w.panel_products && n >= kBf16MinBatch && cols % 32 == 0 && Bf16GemmAvailable();
    for (const WeightPart& p : W.parts) bf16 = bf16 && p.type == WeightType::kBF16;
    if (bf16) {
      s->xb.resize(static_cast<size_t>(n * cols));
      pool.ParallelFor(n, 4, [&](int64_t b0, int64_t b1) {
        RoundRowsToBf16(in, cols, static_cast<int>(b0), static_cast<int>(b1), s->xb.data());
      });
      pool.ParallelFor(rows, 64, [&](int64_t r0, int64_t r1) {
        for_parts(r0, r1, [&](const WeightPart& p, int64_t base, int64_t lo, int64_t hi) {
          Bf16MatMulRows(static_cast<const uint16_t*>(p.data), cols, s->xb.data(), n, rows,
                         y + base, lo, hi);
        });
      });
      return;
    }
    if (int8) {
      PrepareInt8Rows(n, cols, &s->xi);
      pool.ParallelFor(n, 4, [&](int64_t b0, int64_t b1) {
        QuantizeInt8Rows(in, static_cast<int>(b0), static_cast<int>(b1), &s->xi);
      });
      pool.ParallelFor(rows, 64, [&](int64_t r0, int64_t r1) {
        for_parts(r0, r1, [&](const WeightPart& p, int64_t base, int64_t lo, int64_t hi) {
          Int8MatMulRows(p.type, static_cast<const uint8_t*>(p.data), s->xi, rows, y + base, lo,
                         hi);
        });
      });
      return;
    }
    const int min_transposed = quantized ? kQuantizedTransposedMinBatch : kTransposedMinBatch;
    if (n < min_transposed) {
      if (quantized) QuantizeInput(in, n, cols, &s->xq, q8_0, q8_k);
      pool.ParallelFor(rows, 64, [&](int64_t r0, int64_t r1) { dots(in, n, y, r0, r1); });
      return;
    }
    // Groups of 16 rows of input, each transposed once; a last group of fewer than
    // min_transposed takes the dot-product tiles.
    const int full = n / 16, tail = n % 16;
    const int groups = full + (tail >= min_transposed ? 1 : 0);
    s->xt.resize(static_cast<size_t>(std::max(1, groups)) * cols * 16);
    pool.ParallelFor(groups, 1, [&](int64_t g0, int64_t g1) {
      for (int64_t gi = g0; gi < g1; ++gi)
        TransposeTo16(in + gi * 16 * cols, cols, std::min<int64_t>(16, n - gi * 16),
                      s->xt.data() + gi * cols * 16);
    });
    if (quantized && groups * 16 < n)
      QuantizeInput(in + int64_t{groups} * 16 * cols, n - groups * 16, cols, &s->xq, q8_0, q8_k);
    pool.ParallelFor(rows, 64, [&](int64_t r0, int64_t r1) {
      if (groups > 0) {
        const int width = std::min(n, groups * 16);
        for_parts(r0, r1, [&](const WeightPart& p, int64_t base, int64_t lo, int64_t hi) {
          if (p.type == WeightType::kF32)
            MatMulRowsT(static_cast<const float*>(p.data), cols, s->xt.data(), width, rows,
                        y + base, lo, hi);
          else
            MatMulRowsQuantT(p.type, static_cast<const uint8_t*>(p.data), cols, s->xt.data(), width,
                             rows, y + base, lo, hi);
        });
      }
      if (groups * 16 < n)
        dots(in + int64_t{groups} * 16 * cols, n - groups * 16, y + int64_t{groups} * 16 * rows, r0,
             r1);
    });
  };
  if (w.embed != nullptr) {
    for (int b = 0; b < batch; ++b)
      DequantizeWeights(w.embed_type,
                        static_cast<const uint8_t*>(w.embed) +
                            int64_t{seqs[b].token} * WeightRowBytes(w.embed_type, H),
                        H, x + b * H);
  } else {
    std::memcpy(x, hidden_in, batch * H * sizeof(float));
  }

  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool half_kv = w.kv_type == KvType::kF16;
  const int64_t items = batch * nkv;  // (token, KV head) pairs
  // Rotary embedding for one item's query heads and key, and its K/V row into the cache.
  const auto rope_and_store = [&](size_t l, int64_t i) {
    const int64_t b = i / nkv, kh = i % nkv;
    const StepToken& sq = seqs[b];
    const int64_t base = kh * sq.capacity * hd;
    float* q = qkv + b * QKV + kh * g * hd;
    float* k = qkv + b * QKV + (nh + kh) * hd;
    const float* v = qkv + b * QKV + (nh + nkv + kh) * hd;
    const float* cos = w.rope_cos + sq.position * hd;
    const float* sin = w.rope_sin + sq.position * hd;
    ApplyRope(q, g, hd, cos, sin);
    ApplyRope(k, 1, hd, cos, sin);
    if (half_kv) {
      FloatToHalfN(k, hd, static_cast<uint16_t*>(sq.k[l]) + base + sq.position * hd);
      FloatToHalfN(v, hd, static_cast<uint16_t*>(sq.v[l]) + base + sq.position * hd);
    } else {
      std::memcpy(static_cast<float*>(sq.k[l]) + base + sq.position * hd, k, hd * sizeof(float));
      std::memcpy(static_cast<float*>(sq.v[l]) + base + sq.position * hd, v, hd * sizeof(float));
    }
  };
  const auto attend = [&](size_t l, int64_t i) {
    const int64_t b = i / nkv, kh = i % nkv;
    const StepToken& sq = seqs[b];
    const int64_t base = kh * sq.capacity * hd;
    // Per worker thread: a prompt's tokens x heads x positions would not fit one buffer.
    thread_local std::vector<float> scores;
    if (scores.size() < static_cast<size_t>(g * max_total)) scores.resize(g * max_total);
    if (half_kv)
      AttendGroupHalf(qkv + b * QKV + kh * g * hd, g, static_cast<const uint16_t*>(sq.k[l]) + base,
                      static_cast<const uint16_t*>(sq.v[l]) + base, sq.position + 1, hd, scale,
                      scores.data(), attn + (b * nh + kh * g) * hd);
    else
      AttendGroup(qkv + b * QKV + kh * g * hd, g, static_cast<const float*>(sq.k[l]) + base,
                  static_cast<const float*>(sq.v[l]) + base, sq.position + 1, hd, scale,
                  scores.data(), attn + (b * nh + kh * g) * hd);
  };
  // Attention tasks are parallel only when the context is long enough to pay for it.
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, g * max_total * hd));
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& L = w.layers[l];
    for (int b = 0; b < batch; ++b) RmsNorm(x + b * H, L.input_norm, H, w.rms_eps, h + b * H);
    matvec(L.w_qkv, QKV, H, h, batch, qkv);
    if (!shared_cache) {
      // Each item touches only its own sequence's cache: one pass.
      pool.ParallelFor(items, grain, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          rope_and_store(l, i);
          attend(l, i);
        }
      });
    } else {
      // A chunk's tokens read each other's keys: every K/V row is written before any attends,
      // then blocks of consecutive tokens attend together (the keys read once per block).
      pool.ParallelFor(items, 64, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) rope_and_store(l, i);
      });
      if (g > 16) {  // more query heads per KV head than one transposed group holds
        pool.ParallelFor(items, grain, [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i) attend(l, i);
        });
      } else {
        // fp16 caches: the staged chunks' prefixes, converted once for all their blocks.
        pool.ParallelFor(
            static_cast<int64_t>(staged_chunks.size()) * nkv, 1, [&](int64_t i0, int64_t i1) {
              for (int64_t i = i0; i < i1; ++i) {
                const size_t first = staged_chunks[i / nkv].first;
                const int64_t kh = i % nkv, total = block_total[first];
                const StepToken& sq = seqs[blocks[first].first];
                const int64_t base = kh * sq.capacity * hd;
                float* K = s->staged.data() + block_stage[first] + kh * total * hd;
                HalfToFloatN(static_cast<const uint16_t*>(sq.k[l]) + base, total * hd, K);
                HalfToFloatN(static_cast<const uint16_t*>(sq.v[l]) + base, total * hd,
                             K + nkv * total * hd);
              }
            });
        const int64_t block_items = static_cast<int64_t>(blocks.size()) * nkv;
        pool.ParallelFor(block_items, 1, [&](int64_t i0, int64_t i1) {
          thread_local std::vector<float> scores, qt;
          for (int64_t i = i0; i < i1; ++i) {
            const auto [b0, nb] = blocks[i / nkv];
            const int64_t kh = i % nkv;
            const StepToken& sq = seqs[b0];
            const int64_t base = kh * sq.capacity * hd;
            const size_t need = static_cast<size_t>(nb * g * (sq.position + nb));
            if (scores.size() < need) scores.resize(need);
            if (qt.size() < static_cast<size_t>(hd * 16)) qt.resize(hd * 16);
            if (block_stage[i / nkv] >= 0) {
              const int64_t total = block_total[i / nkv];
              const float* K = s->staged.data() + block_stage[i / nkv] + kh * total * hd;
              AttendCausal(qkv + b0 * QKV + kh * g * hd, QKV, nb, g, sq.position, K,
                           K + nkv * total * hd, hd, scale, scores.data(), qt.data(),
                           attn + (b0 * nh + kh * g) * hd, nh * hd);
            } else if (half_kv)
              AttendCausalHalf(qkv + b0 * QKV + kh * g * hd, QKV, nb, g, sq.position,
                               static_cast<const uint16_t*>(sq.k[l]) + base,
                               static_cast<const uint16_t*>(sq.v[l]) + base, hd, scale,
                               scores.data(), qt.data(), attn + (b0 * nh + kh * g) * hd, nh * hd);
            else
              AttendCausal(qkv + b0 * QKV + kh * g * hd, QKV, nb, g, sq.position,
                           static_cast<const float*>(sq.k[l]) + base,
                           static_cast<const float*>(sq.v[l]) + base, hd, scale, scores.data(),
                           qt.data(), attn + (b0 * nh + kh * g) * hd, nh * hd);
          }
        });
      }
    }
    matvec(L.wo, H, nh * hd, attn, batch, h);
    for (int64_t i = 0; i < batch * H; ++i) x[i] += h[i];
    for (int b = 0; b < batch; ++b) RmsNorm(x + b * H, L.post_norm, H, w.rms_eps, h + b * H);
    matvec(L.w_gate_up, 2 * I, H, h, batch, gate_up);
    // On the pool from kTransposedMinBatch tokens on (two chunks of at least half that); below,
    // one SwiGLU per token is too short to split.
    pool.ParallelFor(batch, std::max(1, kTransposedMinBatch / 2), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) SwiGlu(gate_up + b * 2 * I, I, act + b * I);
    });
    matvec(L.w_down, H, I, act, batch, h);
    for (int64_t i = 0; i < batch * H; ++i) x[i] += h[i];
  }
  // The output rows, compacted in order.
  int rows_out = 0;
  for (int b = 0; b < batch; ++b) {
    if (!seqs[b].output) continue;
    if (w.lm_head.empty())
      std::memcpy(out + int64_t{rows_out} * H, x + b * H, H * sizeof(float));
    else
      RmsNorm(x + b * H, w.final_norm, H, w.rms_eps, h + int64_t{rows_out} * H);
    ++rows_out;
  }
  if (!w.lm_head.empty() && rows_out > 0) matvec(w.lm_head, w.vocab, H, h, rows_out, out);
}

}  // namespace epara::llm::kernels
