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

namespace {

uint8_t RoundClamp(float v, float lo, float hi) {
  return static_cast<uint8_t>(std::min(hi, std::max(lo, std::round(v))));
}

}  // namespace

void QuantizeQ4_K(const float* w, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / kQ4_KBlock; ++b) {
    const float* x = w + b * kQ4_KBlock;
    uint8_t* o = out + b * kQ4_KBytes;
    // Per sub-block: w ~ scale * q - min with q in [0, 15] over [min(0, lo), hi].
    float scale[8], min[8], max_scale = 0, max_min = 0;
    for (int s = 0; s < 8; ++s) {
      float lo = 0, hi = 0;
      for (int i = 0; i < 32; ++i)
        lo = std::min(lo, x[32 * s + i]), hi = std::max(hi, x[32 * s + i]);
      scale[s] = (hi - lo) / 15.0f;
      min[s] = -lo;
      max_scale = std::max(max_scale, scale[s]);
      max_min = std::max(max_min, min[s]);
    }
    const float d = max_scale / 63.0f, dmin = max_min / 63.0f;
    PutHalf(o, d);
    PutHalf(o + 2, dmin);
    const float dh = GetHalf(o), dminh = GetHalf(o + 2);  // as the reader will see them
    uint8_t sc[8], mn[8];
    for (int s = 0; s < 8; ++s) {
      sc[s] = dh > 0 ? RoundClamp(scale[s] / dh, 0, 63) : 0;
      mn[s] = dminh > 0 ? RoundClamp(min[s] / dminh, 0, 63) : 0;
    }
    uint8_t* packed = o + 4;
    std::memset(packed, 0, 12);
    for (int j = 0; j < 4; ++j) {
      packed[j] = sc[j];
      packed[j + 4] = mn[j];
    }
    for (int j = 4; j < 8; ++j) {
      packed[j + 4] = static_cast<uint8_t>((sc[j] & 0x0f) | ((mn[j] & 0x0f) << 4));
      packed[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      packed[j] |= static_cast<uint8_t>((mn[j] >> 4) << 6);
    }
    uint8_t* qs = o + 16;
    std::memset(qs, 0, 128);
    for (int s = 0; s < 8; ++s) {
      const float step = dh * sc[s], offset = dminh * mn[s];
      for (int i = 0; i < 32; ++i) {
        const uint8_t q = step > 0 ? RoundClamp((x[32 * s + i] + offset) / step, 0, 15) : 0;
        qs[32 * (s / 2) + i] |= static_cast<uint8_t>(s % 2 == 0 ? q : q << 4);
      }
    }
  }
}

void DequantizeQ4_K(const uint8_t* blocks, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kQ4_KBlock; ++b) {
    const uint8_t* o = blocks + b * kQ4_KBytes;
    const float d = GetHalf(o), dmin = GetHalf(o + 2);
    const uint8_t* qs = o + 16;
    float* y = out + b * kQ4_KBlock;
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, mn;
      Q4KScaleMin(o + 4, s, &sc, &mn);
      const float step = d * sc, offset = dmin * mn;
      for (int i = 0; i < 32; ++i) {
        const uint8_t byte = qs[32 * (s / 2) + i];
        y[32 * s + i] = step * static_cast<float>(s % 2 == 0 ? byte & 0x0f : byte >> 4) - offset;
      }
    }
  }
}

void QuantizeQ6_K(const float* w, int64_t n, uint8_t* out) {
  for (int64_t b = 0; b < n / kQ6_KBlock; ++b) {
    const float* x = w + b * kQ6_KBlock;
    uint8_t* o = out + b * kQ6_KBytes;
    uint8_t *ql = o, *qh = o + 128;
    auto* scales = reinterpret_cast<int8_t*>(o + 192);
    float scale[16], max_scale = 0;
    for (int s = 0; s < 16; ++s) {
      float amax = 0;
      for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(x[16 * s + i]));
      scale[s] = amax / 31.0f;
      max_scale = std::max(max_scale, scale[s]);
    }
    PutHalf(o + 208, max_scale / 127.0f);
    const float d = GetHalf(o + 208);
    for (int s = 0; s < 16; ++s)
      scales[s] = static_cast<int8_t>(d > 0 ? RoundClamp(scale[s] / d, 0, 127) : 0);
    std::memset(ql, 0, 192);
    for (int e = 0; e < kQ6_KBlock; ++e) {
      const int half = e / 128, t = (e % 128) / 32, l = e % 32;
      const float step = d * scales[8 * half + 2 * t + l / 16];
      const uint8_t q = static_cast<uint8_t>(
          (step > 0 ? static_cast<int>(RoundClamp(x[e] / step + 32.0f, 0, 63)) : 32));
      uint8_t& low = ql[64 * half + 32 * (t % 2) + l];
      low |= static_cast<uint8_t>(t < 2 ? (q & 0x0f) : (q & 0x0f) << 4);
      qh[32 * half + l] |= static_cast<uint8_t>((q >> 4) << (2 * t));
    }
  }
}

void DequantizeQ6_K(const uint8_t* blocks, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kQ6_KBlock; ++b) {
    const uint8_t* o = blocks + b * kQ6_KBytes;
    const uint8_t *ql = o, *qh = o + 128;
    const auto* scales = reinterpret_cast<const int8_t*>(o + 192);
    const float d = GetHalf(o + 208);
    float* y = out + b * kQ6_KBlock;
    for (int e = 0; e < kQ6_KBlock; ++e) {
      const int half = e / 128, t = (e % 128) / 32, l = e % 32;
      const uint8_t low = ql[64 * half + 32 * (t % 2) + l];
      const int q = ((t < 2 ? low & 0x0f : low >> 4) | (((qh[32 * half + l] >> (2 * t)) & 3) << 4));
      y[e] = d * static_cast<float>(scales[8 * half + 2 * t + l / 16]) * static_cast<float>(q - 32);
    }
  }
}

bool QuantizeBlocks(GgmlType t, const float* w, int64_t n, uint8_t* out) {
  switch (t) {
    case GgmlType::kF32:
      std::memcpy(out, w, static_cast<size_t>(n) * sizeof(float));
      return true;
    case GgmlType::kQ8_0:
      QuantizeQ8_0(w, n, out);
      return true;
    case GgmlType::kQ4_0:
      QuantizeQ4_0(w, n, out);
      return true;
    case GgmlType::kQ4_K:
      QuantizeQ4_K(w, n, out);
      return true;
    case GgmlType::kQ6_K:
      QuantizeQ6_K(w, n, out);
      return true;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = FloatToHalf(w[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return true;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t b = FloatToBf16(w[i]);
        std::memcpy(out + 2 * i, &b, 2);
      }
      return true;
  }
  return false;
}

}  // namespace epara::formats
