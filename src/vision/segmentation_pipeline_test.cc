#include "vision/segmentation_pipeline.h"

#include <gtest/gtest.h>

#include <cmath>

#include "image/image_codec.h"

namespace epara::vision {
namespace {

Tensor OneChannel(int h, int w, float (*f)(int, int)) {
  Tensor t(DataType::kFp32, {1, 1, h, w});
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) t.data<float>()[y * w + x] = f(y, x);
  return t;
}

TEST(SegmentationPostprocessTest, ProbabilityThresholdGivesTwoClassesAndASoftAlpha) {
  // Left half 0.9 (foreground), right half 0.2; one NaN pixel counts as background.
  Tensor p =
      OneChannel(4, 4, [](int y, int x) { return y == 0 && x == 0 ? NAN : (x < 2 ? 0.9f : 0.2f); });
  SegmentationMask m;
  PostprocessOptions o;
  o.kind.kind = SegmentationPostprocess::Kind::kProbability;
  o.kind.threshold = 0.5f;
  o.alpha = true;
  ASSERT_TRUE(PostprocessLogits(p, 4, 4, &m, o).ok());
  EXPECT_EQ(m.class_pixels, (std::vector<int64_t>{9, 7}));
  EXPECT_EQ(m.mask.pixels[1], 1);
  EXPECT_EQ(m.mask.pixels[3], 0);
  ASSERT_EQ(m.alpha.pixels.size(), 16u);
  EXPECT_EQ(m.alpha.pixels[1], 230);  // 0.9 * 255 = 229.5 -> 230
  EXPECT_EQ(m.alpha.pixels[3], 51);
  EXPECT_EQ(m.alpha.pixels[0], 0);
}

TEST(SegmentationPostprocessTest, SigmoidAppliesTheLogisticBeforeTheThreshold) {
  Tensor z = OneChannel(2, 2, [](int, int x) { return x == 0 ? -1.0f : 1.0f; });
  SegmentationMask m;
  PostprocessOptions o;
  o.kind.kind = SegmentationPostprocess::Kind::kSigmoid;
  o.kind.threshold = 0.6f;  // sigmoid(1) = 0.731 passes, sigmoid(-1) = 0.269 does not
  o.alpha = true;
  ASSERT_TRUE(PostprocessLogits(z, 4, 4, &m, o).ok());  // resized to 4x4
  EXPECT_EQ(m.class_pixels, (std::vector<int64_t>{8, 8}));
  EXPECT_EQ(m.alpha.width, 4);
  EXPECT_EQ(m.alpha.pixels[0], 69);   // 0.2689 * 255 = 68.6
  EXPECT_EQ(m.alpha.pixels[3], 186);  // 0.7311 * 255 = 186.4
}

TEST(SegmentationPostprocessTest, OneChannelKindsRefuseMultiChannelOutputs) {
  Tensor logits(DataType::kFp32, {1, 3, 2, 2});
  SegmentationMask m;
  PostprocessOptions o;
  o.kind.kind = SegmentationPostprocess::Kind::kSigmoid;
  EXPECT_EQ(PostprocessLogits(logits, 2, 2, &m, o).code(), StatusCode::kInvalidArgument);
}

TEST(SegmentationPostprocessTest, CutoutIsAnRgbaPngWithTheAlphaAsTransparency) {
  Image rgb{2, 1, 3, {10, 20, 30, 40, 50, 60}};
  Image alpha{2, 1, 1, {0, 255}};
  std::string png;
  ASSERT_TRUE(EncodeCutoutPng(rgb, alpha, &png).ok());
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  // Colour type byte of IHDR (offset 25): 6 = RGBA.
  EXPECT_EQ(static_cast<unsigned char>(png[25]), 6);
  Image mismatched{3, 1, 1, {0, 0, 0}};
  EXPECT_EQ(EncodeCutoutPng(rgb, mismatched, &png).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace epara::vision
