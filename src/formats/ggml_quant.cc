#include "formats/ggml_quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"

namespace epara::formats {
namespace {

void PutHalf(uint8_t* p, float v) {
  const uint16_t h = FloatToHalf(v);
  std::memcpy(p, &h, 2);
}
float GetHalf(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

}  // namespace

void QuantizeQ8_0(const float* w, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / kQ8_0Block; ++b) {
    const float* x = w + b * kQ8_0Block;
    uint8_t* o = out + b * kQ8_0Bytes;
    float amax = 0;
    for (int i = 0; i < kQ8_0Block; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    PutHalf(o, d);
    for (int i = 0; i < kQ8_0Block; ++i)
      o[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::round(x[i] * id)));
  }
}

void DequantizeQ8_0(const uint8_t* blocks, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kQ8_0Block; ++b) {
    const uint8_t* o = blocks + b * kQ8_0Bytes;
    const float d = GetHalf(o);
    for (int i = 0; i < kQ8_0Block; ++i)
      out[b * kQ8_0Block + i] = d * static_cast<float>(static_cast<int8_t>(o[2 + i]));
  }
}

void QuantizeQ4_0(const float* w, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / kQ4_0Block; ++b) {
    const float* x = w + b * kQ4_0Block;
    uint8_t* o = out + b * kQ4_0Bytes;
    float amax = 0, max = 0;  // the largest magnitude, with its sign
    for (int i = 0; i < kQ4_0Block; ++i)
      if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
    const float d = max / -8.0f, id = d != 0 ? 1.0f / d : 0.0f;
    PutHalf(o, d);
    for (int j = 0; j < kQ4_0Block / 2; ++j) {
      const auto q = [&](float v) {
        return static_cast<uint8_t>(std::min(15.0f, std::max(0.0f, std::floor(v * id + 8.5f))));
      };
      o[2 + j] = static_cast<uint8_t>(q(x[j]) | (q(x[j + 16]) << 4));
    }
  }
}

void DequantizeQ4_0(const uint8_t* blocks, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kQ4_0Block; ++b) {
    const uint8_t* o = blocks + b * kQ4_0Bytes;
    const float d = GetHalf(o);
    for (int j = 0; j < kQ4_0Block / 2; ++j) {
      out[b * kQ4_0Block + j] = d * static_cast<float>((o[2 + j] & 0x0f) - 8);
      out[b * kQ4_0Block + j + 16] = d * static_cast<float>((o[2 + j] >> 4) - 8);
    }
  }
}

}  // namespace epara::formats
