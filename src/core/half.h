// IEEE 754 binary16 ("half", KServe v2's FP16) to and from float. Conversions are exact where
// representable; float -> half rounds to nearest, ties to even, overflows to infinity and keeps
// NaN a NaN (quiet), as hardware converters and ONNX Runtime's MLFloat16 do.
#pragma once

#include <cstdint>

namespace epara {

uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);

}  // namespace epara
