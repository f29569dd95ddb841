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

}  // namespace epara
