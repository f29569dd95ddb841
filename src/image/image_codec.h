// Image decoding and encoding with libpng (simplified API) and libjpeg-turbo (TurboJPEG API).
// Decoding never trusts the input: unknown formats, truncated or corrupt data and images larger
// than the limits are InvalidArgument, never a crash.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "image/image.h"

namespace epara {

struct DecodeLimits {
  int max_side = 16384;
  int64_t max_pixels = 64LL << 20;  // 64 Mpixel
};

// Decodes PNG or JPEG (detected by magic bytes) to 8-bit RGB.
Status DecodeImage(std::string_view bytes, Image* out, const DecodeLimits& limits = {});

// Encodes RGBA (channels 4), RGB (3) or gray (1) as PNG, favouring speed over size.
Status EncodePng(const Image& image, std::string* out);
// Encodes a 1-channel index image as a palette PNG: pixel values are the indices, `palette` gives
// each index's RGB colour (at most 256 entries; indices beyond it render black).
Status EncodePalettePng(const Image& index_image,
                        const std::vector<std::array<uint8_t, 3>>& palette, std::string* out);
// Encodes RGB as baseline JPEG (tests, benchmarks, demo inputs).
Status EncodeJpeg(const Image& image, int quality, std::string* out);

// A fixed, distinguishable colour per class index (index 0 is black).
std::vector<std::array<uint8_t, 3>> ClassPalette(int classes);

}  // namespace epara
