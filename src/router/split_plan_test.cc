// Where a split request's tiles run (router/split_plan.h) and how wide each is
// (vision::PlanWeightedTiles).
#include "router/split_plan.h"

#include <gtest/gtest.h>

#include <set>

namespace epara::router {
namespace {

// Predicted finish of tile k on its device: start + ms per column x its input columns.
double Finish(const vision::Tile& t, const vision::TileDevice& d) {
  return d.start_ms + d.ms_per_column * t.input.w;
}

TEST(WeightedTilesTest, EqualDevicesGetEqualFinishesAndTheCoresPartitionTheImage) {
  std::vector<vision::Tile> tiles;
  std::vector<size_t> device;
  // Three equal devices: the middle tile carries two halos, so its core is narrower.
  ASSERT_TRUE(vision::PlanWeightedTiles(1024, 512, {{0, 1}, {0, 1}, {0, 1}}, {0, 0, 128, 16},
                                        &tiles, &device)
                  .ok());
  ASSERT_EQ(tiles.size(), 3u);
  EXPECT_EQ(device, (std::vector<size_t>{0, 1, 2}));
  int x = 0;
  for (const vision::Tile& t : tiles) {
    EXPECT_EQ(t.core.x, x);
    EXPECT_EQ(t.core.w % 16, 0);
    EXPECT_EQ(t.core.h, 512);
    x += t.core.w;
  }
  EXPECT_EQ(x, 1024);
  EXPECT_LT(tiles[1].core.w, tiles[0].core.w);
  // Input widths within one cell of each other (equal finish, up to the alignment).
  EXPECT_LE(std::abs(tiles[0].input.w - tiles[1].input.w), 16);
  EXPECT_LE(std::abs(tiles[2].input.w - tiles[1].input.w), 16);
}

TEST(WeightedTilesTest, AFastDeviceTakesTheWideTileAndAHopelessOneIsDropped) {
  std::vector<vision::Tile> tiles;
  std::vector<size_t> device;
  // Known answer: 2048 columns, halo 128, device 0 at 1000 ms / 2048 per column, device 1 four
  // times slower: T = 2304 / 2.56 = 900 ms, cores 1715.2 and 332.8 -> 107 and 20 cells; the last
  // cell goes to the first to finish with it (a tie at 906.25 ms: the first).
  const std::vector<vision::TileDevice> two = {{0, 1000.0 / 2048}, {0, 4000.0 / 2048}};
  ASSERT_TRUE(vision::PlanWeightedTiles(2048, 64, two, {0, 0, 128, 16}, &tiles, &device).ok());
  ASSERT_EQ(tiles.size(), 2u);
  EXPECT_EQ(tiles[0].core, (vision::Rect{0, 0, 1728, 64}));
  EXPECT_EQ(tiles[1].core, (vision::Rect{1728, 0, 320, 64}));
  EXPECT_EQ(tiles[1].input, (vision::Rect{1600, 0, 448, 64}));
  EXPECT_DOUBLE_EQ(Finish(tiles[0], two[0]), 906.25);
  EXPECT_DOUBLE_EQ(Finish(tiles[1], two[1]), 875);
  // A device that is busy for longer than the whole image takes there gets no tile.
  const std::vector<vision::TileDevice> busy = {{0, 1000.0 / 2048}, {5000, 1000.0 / 2048}};
  ASSERT_TRUE(vision::PlanWeightedTiles(2048, 64, busy, {0, 0, 128, 16}, &tiles, &device).ok());
  ASSERT_EQ(tiles.size(), 1u);
  EXPECT_EQ(device, (std::vector<size_t>{0}));
  EXPECT_EQ(tiles[0].input, (vision::Rect{0, 0, 2048, 64}));
  // Refusals.
  EXPECT_FALSE(vision::PlanWeightedTiles(2048, 64, {}, {0, 0, 128, 16}, &tiles, &device).ok());
  EXPECT_FALSE(
      vision::PlanWeightedTiles(2048, 64, {{0, 0}}, {0, 0, 128, 16}, &tiles, &device).ok());
  EXPECT_FALSE(vision::PlanWeightedTiles(2040, 64, two, {0, 0, 128, 16}, &tiles, &device).ok());
}

RouteCandidate Instance(const std::string& id, bool local, double wait, double service) {
  RouteCandidate c;
  c.node_id = id;
  c.local = local;
  c.expected_wait_ms = wait;
  c.service_ms = service;
  return c;
}

TEST(SplitPlanTest, MeasuredInstancesGetTilesByTheirSpeedOthersEqualTilesRoundRobin) {
  SplitPlan plan;
  // Candidate 1 is fastest: it comes first in the order and takes the wide tile.
  const std::vector<RouteCandidate> c = {Instance("slow", true, 0, 4000),
                                         Instance("fast", false, 0, 1000)};
  ASSERT_TRUE(PlanSplit(c, 2048, 64, 2, true, &plan).ok());
  EXPECT_TRUE(plan.weighted);
  ASSERT_EQ(plan.tiles.size(), 2u);
  EXPECT_EQ(plan.on, (std::vector<size_t>{1, 0}));
  EXPECT_EQ(plan.tiles[0].core.w, 1728);
  // More tiles than instances: spread over the instances there are (the same plan).
  ASSERT_TRUE(PlanSplit(c, 2048, 64, 3, true, &plan).ok());
  EXPECT_TRUE(plan.weighted);
  EXPECT_EQ(plan.on, (std::vector<size_t>{1, 0}));
  // One instance: equal tiles on it, one after the other.
  ASSERT_TRUE(PlanSplit({c[1]}, 2048, 64, 3, true, &plan).ok());
  EXPECT_FALSE(plan.weighted);
  EXPECT_EQ(plan.on, (std::vector<size_t>{0, 0, 0}));
  // An instance whose time is a guess (not measured, no profile): equal tiles.
  std::vector<RouteCandidate> guessed = c;
  guessed[0].service_measured = true;
  ASSERT_TRUE(PlanSplit(guessed, 2048, 64, 2, false, &plan).ok());
  EXPECT_FALSE(plan.weighted);
  EXPECT_EQ(plan.tiles[0].core.w, 1024);
  guessed[1].service_measured = true;
  ASSERT_TRUE(PlanSplit(guessed, 2048, 64, 2, false, &plan).ok());
  EXPECT_TRUE(plan.weighted);
  // Nobody ready.
  std::vector<RouteCandidate> down = c;
  for (auto& x : down) x.ready = false;
  EXPECT_EQ(PlanSplit(down, 2048, 64, 2, true, &plan).code(), StatusCode::kUnavailable);
}

TEST(SplitPlanTest, WithABudgetTheFewestInstancesThatMeetItRunTheTiles) {
  // Four equal instances, 1,000 ms for a whole 1024-wide frame; free.
  std::vector<RouteCandidate> c;
  for (const char* id : {"a", "b", "c", "d"}) c.push_back(Instance(id, false, 0, 1000));
  SplitPlan plan;
  // No budget: every instance (4 tiles, 1,792 columns computed in all: each inner side a halo).
  ASSERT_TRUE(PlanSplit(c, 1024, 64, 4, true, &plan).ok());
  ASSERT_EQ(plan.tiles.size(), 4u);
  // 1,500 ms: one whole frame meets it.
  ASSERT_TRUE(PlanSplit(c, 1024, 64, 4, true, &plan, 1500).ok());
  ASSERT_EQ(plan.tiles.size(), 1u);
  EXPECT_EQ(plan.tiles[0].input.w, 1024);
  EXPECT_DOUBLE_EQ(plan.predicted_ms, 1000);
  // 700 ms: two tiles (each 512 + 128 halo columns: 625 ms) meet it; one does not.
  ASSERT_TRUE(PlanSplit(c, 1024, 64, 4, true, &plan, 700).ok());
  ASSERT_EQ(plan.tiles.size(), 2u);
  EXPECT_LE(plan.predicted_ms, 700);
  int columns = 0;
  for (const vision::Tile& t : plan.tiles) columns += t.input.w;
  EXPECT_EQ(columns, 1280);
  // 100 ms: nothing meets it; the plan predicted to finish first (the widest split).
  ASSERT_TRUE(PlanSplit(c, 1024, 64, 4, true, &plan, 100).ok());
  EXPECT_EQ(plan.tiles.size(), 4u);
  // Load moves the choice: with a and b busy for 800 ms, 700 ms is no longer met by them; the
  // order puts the free c and d first, and they meet it.
  c[0].expected_wait_ms = c[1].expected_wait_ms = 800;
  ASSERT_TRUE(PlanSplit(c, 1024, 64, 4, true, &plan, 700).ok());
  ASSERT_EQ(plan.tiles.size(), 2u);
  EXPECT_EQ(std::set<size_t>(plan.on.begin(), plan.on.end()), (std::set<size_t>{2, 3}));
}

}  // namespace
}  // namespace epara::router
