// GGML's block quantizations, byte for byte as GGUF stores them (little-endian):
//   Q8_0: 32 weights per 34-byte block: fp16 scale d, then 32 int8 q; w = d * q.
//   Q4_0: 32 weights per 18-byte block: fp16 scale d, then 16 bytes; byte j holds weight j in its
//         low nibble and weight j + 16 in its high nibble; w = d * (nibble - 8).
//   Q4_K: 256 weights per 144-byte super-block: fp16 d, fp16 dmin, 12 bytes packing eight 6-bit
//         (scale, min) pairs, 128 bytes of nibbles. Sub-block s (weights [32s, 32s + 32)) has
//         w = d * scale_s * q - dmin * min_s, q in [0, 15]; its nibbles are the low (s even) or
//         high (s odd) halves of bytes [32 (s / 2), 32 (s / 2) + 32). Pairs 0-3: low 6 bits of
//         bytes s (scale) and s + 4 (min); pairs 4-7: low / high nibble of byte s + 4, with their
//         top 2 bits in bits 6-7 of bytes s - 4 (scale) and s (min).
//   Q6_K: 256 weights per 210-byte super-block: 128 bytes ql (low 4 bits), 64 bytes qh (high 2
//         bits), 16 int8 scales (one per 16 weights), fp16 d last; w = d * scale * (q - 32).
//         Weight e: half n = e / 128, quarter t = (e % 128) / 32, l = e % 32: its low 4 bits
//         are the low (t < 2) or high nibble of ql[64 n + 32 (t % 2) + l], its high 2 bits bits
//         2t, 2t + 1 of qh[32 n + l], its scale scales[8 n + 2 t + l / 16].
// Q8_0 and Q4_0 quantization follows ggml's reference (round to nearest; Q8_0 d = max|w| / 127,
// Q4_0 d = the largest-magnitude weight / -8), so files written here match what llama.cpp's tools
// write. The K-quant quantizers here are simple (min/max per sub-block, no error search): they
// write valid blocks for tests and exports; llama.cpp's llama-quantize writes better-fitted ones,
// which the dequantizers and kernels read the same way.
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats/gguf.h"

namespace epara::formats {

inline constexpr int kQ8_0Block = 32, kQ8_0Bytes = 34;
inline constexpr int kQ4_0Block = 32, kQ4_0Bytes = 18;
inline constexpr int kQ4_KBlock = 256, kQ4_KBytes = 144;
inline constexpr int kQ6_KBlock = 256, kQ6_KBytes = 210;

// n must be a multiple of 32; `out` receives n / 32 blocks.
void QuantizeQ8_0(const float* w, int64_t n, uint8_t* out);
void DequantizeQ8_0(const uint8_t* blocks, int64_t n, float* out);
void QuantizeQ4_0(const float* w, int64_t n, uint8_t* out);
void DequantizeQ4_0(const uint8_t* blocks, int64_t n, float* out);
// n must be a multiple of 256.
void QuantizeQ4_K(const float* w, int64_t n, uint8_t* out);
void DequantizeQ4_K(const uint8_t* blocks, int64_t n, float* out);
void QuantizeQ6_K(const float* w, int64_t n, uint8_t* out);
void DequantizeQ6_K(const uint8_t* blocks, int64_t n, float* out);

// `n` weights as `t`'s blocks (F32: copied as is; F16 and BF16: each weight rounded to nearest
// even): the quantizers above by type. False for a type value it does not know. REQUIRES: n a
// multiple of t's block.
bool QuantizeBlocks(GgmlType t, const float* w, int64_t n, uint8_t* out);

// Q4_K's packed (scale, min) pair j in [0, 8) of a super-block's 12 scale bytes.
inline void Q4KScaleMin(const uint8_t* packed, int j, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = packed[j] & 63;
    *min = packed[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
  }
}

}  // namespace epara::formats
