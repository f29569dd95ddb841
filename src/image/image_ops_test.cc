#include "image/image_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace epara {
namespace {

TEST(ImageOpsTest, SameSizeIsAPureNormalization) {
  Image img{2, 1, 3, {0, 128, 255, 51, 102, 204}};
  ImagePreprocess p;
  p.width = 2;
  p.height = 1;
  p.mean = {0.5f, 0.5f, 0.5f};
  p.std = {0.5f, 0.25f, 1.0f};
  std::vector<float> out(6);
  ImageToTensorCHW(img, p, out.data());
  // CHW: R plane, G plane, B plane.
  EXPECT_NEAR(out[0], (0 / 255.f - 0.5f) / 0.5f, 1e-6);
  EXPECT_NEAR(out[1], (51 / 255.f - 0.5f) / 0.5f, 1e-6);
  EXPECT_NEAR(out[2], (128 / 255.f - 0.5f) / 0.25f, 1e-6);
  EXPECT_NEAR(out[5], (204 / 255.f - 0.5f) / 1.0f, 1e-6);
  p.bgr = true;
  ImageToTensorCHW(img, p, out.data());
  // Plane 0 is now blue, normalized with mean[0]/std[0] (the network's first channel).
  EXPECT_NEAR(out[0], (255 / 255.f - 0.5f) / 0.5f, 1e-6);
  EXPECT_NEAR(out[4], (0 / 255.f - 0.5f) / 1.0f, 1e-6);  // plane 2 is red, with std[2]
}

TEST(ImageOpsTest, BilinearDownscaleOfAConstantImageIsConstant) {
  Image img{9, 7, 3, std::vector<uint8_t>(9 * 7 * 3, 200)};
  ImagePreprocess p;
  p.width = 4;
  p.height = 3;
  std::vector<float> out(3 * 4 * 3);
  ImageToTensorCHW(img, p, out.data());
  for (float v : out) EXPECT_NEAR(v, 200 / 255.f, 1e-5);
}

TEST(ImageOpsTest, BilinearUpscaleInterpolatesBetweenPixels) {
  Image img{2, 1, 3, {0, 0, 0, 255, 255, 255}};
  ImagePreprocess p;
  p.width = 4;
  p.height = 1;
  std::vector<float> out(12);
  ImageToTensorCHW(img, p, out.data());
  // Half-pixel centres: x = 0.25, 0.75 map to source 0 (clamped), 0.25, 0.75, 1 (clamped).
  EXPECT_NEAR(out[0], 0.0f, 1e-6);
  EXPECT_NEAR(out[1], 0.25f, 1e-6);
  EXPECT_NEAR(out[2], 0.75f, 1e-6);
  EXPECT_NEAR(out[3], 1.0f, 1e-6);
}

TEST(ImageOpsTest, ArgmaxPicksLargestAndLowerIndexOnTies) {
  // 3 classes, 1x3 pixels.
  const std::vector<float> logits = {1, 5, 2,  /* class 0 */
                                     3, 5, 1,  /* class 1 */
                                     2, 0, 9}; /* class 2 */
  uint8_t mask[3];
  ArgmaxClasses(logits.data(), 3, 1, 3, mask);
  EXPECT_EQ(mask[0], 1);
  EXPECT_EQ(mask[1], 0);
  EXPECT_EQ(mask[2], 2);
}

// Planes larger than the kernel's tile, odd sizes, ties and NaN, against a plain loop.
TEST(ImageOpsTest, ArgmaxMatchesAPlainLoopAcrossTiles) {
  const int classes = 5, h = 37, w = 61;
  const size_t plane = static_cast<size_t>(h) * w;
  std::vector<float> logits(classes * plane);
  uint32_t x = 12345;
  for (float& v : logits) {
    x = x * 1664525u + 1013904223u;
    v = static_cast<float>((x >> 24) % 7);  // few values: many ties
  }
  logits[3 * plane + 100] = std::nanf("");  // NaN never wins
  logits[0 * plane + 100] = -100;
  std::vector<uint8_t> mask(plane), want(plane);
  ArgmaxClasses(logits.data(), classes, h, w, mask.data());
  for (size_t i = 0; i < plane; ++i) {
    float best = logits[i];
    for (int c = 1; c < classes; ++c)
      if (logits[c * plane + i] > best) {
        best = logits[c * plane + i];
        want[i] = static_cast<uint8_t>(c);
      }
  }
  EXPECT_EQ(mask, want);
  EXPECT_NE(mask[100], 3);
}

TEST(ImageOpsTest, NearestResizeKeepsLabels) {
  Image m{2, 2, 1, {1, 2, 3, 4}};
  Image r = ResizeNearest(m, 4, 4);
  EXPECT_EQ(r.pixels, (std::vector<uint8_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

}  // namespace
}  // namespace epara
