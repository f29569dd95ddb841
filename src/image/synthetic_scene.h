// A deterministic synthetic RGB scene (sky, ground, a few shapes) for demos and benchmarks.
#pragma once

#include <cstdint>

#include "image/image.h"

namespace epara {

Image SyntheticScene(int width, int height, uint32_t seed = 1);

}  // namespace epara
