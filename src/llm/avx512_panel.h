// The interleaving step shared by the panel products (llm/int8_gemm.h, llm/bf16_gemm.h): 16
// weight rows become one 64-byte vector per 4 bytes of column (a 32-bit lane per row), so that a
// broadcast piece of one input row meets all 16 rows in one instruction with no horizontal sums.
// x86-64 with AVX-512 (GCC) only; callers check the CPU first.
#pragma once

#include <type_traits>

namespace epara::llm::kernels {

// Input tiles of 8 rows, then one of the remaining 1-7: tile(std::integral_constant<int, B>{}, b0)
// for each, B a compile-time tile size (the kernels' register tiles are templates on it).
// The last tile: the compile-time size B equal to `rest` (rest in [1, B]).
template <int B, class Tile>
inline void LastInputTile(int rest, int b, Tile& tile) {
  if constexpr (B > 0) {
    if (rest == B) return tile(std::integral_constant<int, B>{}, b);
    LastInputTile<B - 1>(rest, b, tile);
  }
}

template <class Tile>
inline void ForInputTiles(int n, Tile&& tile) {
  int b = 0;
  for (; b + 8 <= n; b += 8) tile(std::integral_constant<int, 8>{}, b);
  LastInputTile<7>(n - b, b, tile);
}

}  // namespace epara::llm::kernels

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

#include <cstdint>

namespace epara::llm::kernels {

// out[j * 64 .. j * 64 + 63] = 32-bit element j of every r[i] (lane i), j in [0, 16): a 16 x 16
// transpose of 32-bit elements.
__attribute__((target("avx512f"), always_inline)) inline void Transpose16(const __m512i* r,
                                                                          uint8_t* out) {
  __m512i t[16], u[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  // u[4 k + m], 128-bit lane L: rows 4k..4k+3 at element 4 L + m.
  for (int k = 0; k < 4; ++k) {
    u[4 * k + 0] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
    u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
  }
  // A 4 x 4 transpose of 128-bit lanes among u[m], u[4 + m], u[8 + m], u[12 + m].
  for (int m = 0; m < 4; ++m) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x44);
    const __m512i v1 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xEE);
    const __m512i v2 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x44);
    const __m512i v3 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xEE);
    _mm512_storeu_si512(out + (0 + m) * 64, _mm512_shuffle_i32x4(v0, v2, 0x88));
    _mm512_storeu_si512(out + (4 + m) * 64, _mm512_shuffle_i32x4(v0, v2, 0xDD));
    _mm512_storeu_si512(out + (8 + m) * 64, _mm512_shuffle_i32x4(v1, v3, 0x88));
    _mm512_storeu_si512(out + (12 + m) * 64, _mm512_shuffle_i32x4(v1, v3, 0xDD));
  }
}

}  // namespace epara::llm::kernels
#endif
