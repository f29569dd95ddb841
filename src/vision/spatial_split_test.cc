#include "vision/spatial_split.h"

#include <gtest/gtest.h>

namespace epara::vision {
namespace {

TEST(SpatialSplitTest, CoresPartitionTheImageAndInputsCarryTheHalo) {
  std::vector<Tile> tiles;
  ASSERT_TRUE(PlanTiles(336, 208, {2, 2, 32, 16}, &tiles).ok());
  ASSERT_EQ(tiles.size(), 4u);
  // 336 = 21 cells of 16: 10 + 11; 208 = 13 cells: 6 + 7. Not divisible by the tile count.
  EXPECT_EQ(tiles[0].core, (Rect{0, 0, 160, 96}));
  EXPECT_EQ(tiles[1].core, (Rect{160, 0, 176, 96}));
  EXPECT_EQ(tiles[3].core, (Rect{160, 96, 176, 112}));
  EXPECT_EQ(tiles[0].input, (Rect{0, 0, 192, 128}));     // halo only towards the inside
  EXPECT_EQ(tiles[3].input, (Rect{128, 64, 208, 144}));  // clipped at the image border
  int covered = 0;
  for (const Tile& t : tiles) {
    covered += t.core.w * t.core.h;
    EXPECT_EQ(t.input.x % 16, 0);
    EXPECT_EQ(t.input.y % 16, 0);
  }
  EXPECT_EQ(covered, 336 * 208);
}

TEST(SpatialSplitTest, BadPlansAreRefused) {
  std::vector<Tile> tiles;
  EXPECT_EQ(PlanTiles(100, 64, {}, &tiles).code(), StatusCode::kInvalidArgument);  // not aligned
  EXPECT_EQ(PlanTiles(64, 64, {2, 1, 20, 16}, &tiles).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanTiles(32, 32, {3, 1, 16, 16}, &tiles).code(), StatusCode::kInvalidArgument);
}

TEST(SpatialSplitTest, CropThenStitchReassemblesTheImage) {
  // With the identity as "network", stitching the crops gives back the image exactly.
  Tensor image(DataType::kFp32, {1, 3, 48, 80});
  for (int64_t i = 0; i < image.num_elements(); ++i) image.data<float>()[i] = static_cast<float>(i);
  std::vector<Tile> tiles;
  ASSERT_TRUE(PlanTiles(80, 48, {3, 2, 16, 16}, &tiles).ok());
  std::vector<Tensor> crops;
  for (const Tile& t : tiles) crops.push_back(CropImage(image, t.input));
  Tensor back;
  ASSERT_TRUE(StitchTiles(tiles, crops, 80, 48, &back).ok());
  ASSERT_EQ(back.shape(), image.shape());
  for (int64_t i = 0; i < image.num_elements(); ++i)
    ASSERT_EQ(back.data<float>()[i], image.data<float>()[i]) << i;
  crops.pop_back();
  EXPECT_EQ(StitchTiles(tiles, crops, 80, 48, &back).code(), StatusCode::kInvalidArgument);
}

TEST(SpatialSplitTest, WeightedTilesStitchBackTheImageAndKeepTheExactnessRules) {
  // Unequal tiles (a fast, a slow and a busy device) obey PlanTiles' rules: aligned origins, the
  // halo on inner sides only, cores that partition the image; stitching the crops is the identity.
  Tensor image(DataType::kFp32, {1, 3, 32, 640});
  for (int64_t i = 0; i < image.num_elements(); ++i) image.data<float>()[i] = static_cast<float>(i);
  std::vector<Tile> tiles;
  std::vector<size_t> device;
  ASSERT_TRUE(
      PlanWeightedTiles(640, 32, {{0, 1}, {0, 2}, {40, 1}}, {0, 0, 64, 16}, &tiles, &device).ok());
  ASSERT_EQ(tiles.size(), 3u);
  int x = 0;
  for (size_t k = 0; k < tiles.size(); ++k) {
    EXPECT_EQ(tiles[k].core.x, x);
    EXPECT_EQ(tiles[k].core.x % 16, 0);
    EXPECT_EQ(tiles[k].input.x, std::max(0, tiles[k].core.x - 64));
    EXPECT_EQ(tiles[k].input.x + tiles[k].input.w,
              std::min(640, tiles[k].core.x + tiles[k].core.w + 64));
    x += tiles[k].core.w;
  }
  EXPECT_EQ(x, 640);
  EXPECT_GT(tiles[0].core.w, tiles[1].core.w);  // device 0 is twice device 1's speed
  std::vector<Tensor> crops;
  for (const Tile& t : tiles) crops.push_back(CropImage(image, t.input));
  Tensor back;
  ASSERT_TRUE(StitchTiles(tiles, crops, 640, 32, &back).ok());
  for (int64_t i = 0; i < image.num_elements(); ++i)
    ASSERT_EQ(back.data<float>()[i], image.data<float>()[i]) << i;
}

}  // namespace
}  // namespace epara::vision
