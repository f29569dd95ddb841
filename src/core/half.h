// IEEE 754 binary16 ("half", KServe v2's FP16) to and from float. Conversions are exact where
// representable; float -> half rounds to nearest, ties to even, overflows to infinity and keeps
// NaN a NaN (quiet), as hardware converters and ONNX Runtime's MLFloat16 do.
#pragma once

#include <cstdint>

namespace epara {

uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);

// The same for n values (out[i] = HalfToFloat(in[i]) / FloatToHalf(in[i]), bit for bit except
// that a NaN's payload may differ): F16C instructions where the CPU has them, the scalar
// conversions elsewhere (any architecture).
void HalfToFloatN(const uint16_t* in, int64_t n, float* out);
void FloatToHalfN(const float* in, int64_t n, uint16_t* out);

// bfloat16 (a float's top 16 bits): exact to float; from float rounded to nearest, ties to even,
// NaN kept a NaN.
inline float Bf16ToFloat(uint16_t b) {
  const uint32_t x = static_cast<uint32_t>(b) << 16;
  float f;
  __builtin_memcpy(&f, &x, sizeof f);
  return f;
}
inline uint16_t FloatToBf16(float f) {
  uint32_t x;
  __builtin_memcpy(&x, &f, sizeof x);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace epara
