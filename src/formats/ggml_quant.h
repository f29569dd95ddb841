// GGML's block quantizations, byte for byte as GGUF stores them (little-endian):
//   Q8_0: 32 weights per 34-byte block: fp16 scale d, then 32 int8 q; w = d * q.
//   Q4_0: 32 weights per 18-byte block: fp16 scale d, then 16 bytes; byte j holds weight j in its
//         low nibble and weight j + 16 in its high nibble; w = d * (nibble - 8).
// Quantization follows ggml's reference (round to nearest; Q8_0 d = max|w| / 127, Q4_0 d = the
// largest-magnitude weight / -8), so files written here match what llama.cpp's tools write.
#pragma once

#include <cstddef>
#include <cstdint>

namespace epara::formats {

inline constexpr int kQ8_0Block = 32, kQ8_0Bytes = 34;
inline constexpr int kQ4_0Block = 32, kQ4_0Bytes = 18;

// n must be a multiple of 32; `out` receives n / 32 blocks.
void QuantizeQ8_0(const float* w, int64_t n, uint8_t* out);
void DequantizeQ8_0(const uint8_t* blocks, int64_t n, float* out);
void QuantizeQ4_0(const float* w, int64_t n, uint8_t* out);
void DequantizeQ4_0(const uint8_t* blocks, int64_t n, float* out);

}  // namespace epara::formats
