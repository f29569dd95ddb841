#include "image/synthetic_scene.h"

#include <algorithm>
#include <random>

namespace epara {

Image SyntheticScene(int width, int height, uint32_t seed) {
  Image img{width, height, 3, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  std::mt19937 rng(seed);
  auto set = [&](int x, int y, int r, int g, int b) {
    uint8_t* p = &img.pixels[(static_cast<size_t>(y) * width + x) * 3];
    p[0] = static_cast<uint8_t>(std::clamp(r, 0, 255));
    p[1] = static_cast<uint8_t>(std::clamp(g, 0, 255));
    p[2] = static_cast<uint8_t>(std::clamp(b, 0, 255));
  };
  const int horizon = height * 2 / 5;
  std::uniform_int_distribution<int> noise(-6, 6);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      if (y < horizon)
        set(x, y, 110 + y * 60 / horizon, 160 + y * 40 / horizon, 235);
      else
        set(x, y, 70 + noise(rng), 120 + (y - horizon) * 50 / (height - horizon) + noise(rng),
            60 + noise(rng));
    }
  std::uniform_int_distribution<int> px(0, width - 1), py(horizon, height - 1),
      size(width / 16 + 1, width / 6 + 2);
  std::uniform_int_distribution<int> col(30, 230);
  for (int k = 0; k < 5; ++k) {
    const int cx = px(rng), cy = py(rng), r = size(rng), cr = col(rng), cg = col(rng),
              cb = col(rng);
    const bool disc = k % 2 == 0;
    for (int y = std::max(0, cy - r); y < std::min(height, cy + r); ++y)
      for (int x = std::max(0, cx - r); x < std::min(width, cx + r); ++x)
        if (!disc || (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) set(x, y, cr, cg, cb);
  }
  return img;
}

}  // namespace epara
