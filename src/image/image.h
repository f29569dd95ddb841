// Image: 8-bit pixels, row-major, interleaved channels (4 = RGBA, 3 = RGB, 1 = gray, alpha or
// class index).
#pragma once

#include <cstdint>
#include <vector>

namespace epara {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 3;
  std::vector<uint8_t> pixels;  // height * width * channels
};

}  // namespace epara
