#include "allocator/variant_choice.h"

#include <gtest/gtest.h>

namespace epara::allocator {
namespace {

// ISNet-like: int8 faster and slightly less accurate than fp16.
std::vector<VariantCandidate> Isnet(double int8_accuracy) {
  return {{"isnet", int8_accuracy, 0.95, {1000, 60 << 20}},
          {"isnet-fp16", 1.0, 0.95, {2500, 120 << 20}}};
}

DeviceBudget Device(double speed, int64_t memory_mb) {
  return {"n1", "cpu", memory_mb << 20, speed};
}

TEST(VariantChoiceTest, FastestAcceptableVariantThatMeetsTheSlo) {
  VariantChoice c = ChooseVariant(Isnet(0.98), Device(1.0, 1024), 5000);
  EXPECT_EQ(c.model, "isnet");
  EXPECT_TRUE(c.meets_slo);
  EXPECT_DOUBLE_EQ(c.solo_ms, 1000);
  EXPECT_NE(c.why.find("accuracy 0.980 >= 0.950"), std::string::npos) << c.why;
}

TEST(VariantChoiceTest, AnInaccurateVariantIsNeverChosenEvenWhenFaster) {
  VariantChoice c = ChooseVariant(Isnet(0.90), Device(1.0, 1024), 5000);
  EXPECT_EQ(c.model, "isnet-fp16");
  EXPECT_NE(c.why.find("isnet: accuracy 0.900 < 0.950"), std::string::npos) << c.why;
}

TEST(VariantChoiceTest, MemoryAndSpeedOfTheDeviceDecide) {
  // A board with 100 MB: only int8 fits; a quarter-speed device misses a 3 s SLO with both.
  EXPECT_EQ(ChooseVariant(Isnet(0.98), Device(1.0, 100), 1500).model, "isnet");
  VariantChoice slow = ChooseVariant(Isnet(0.98), Device(0.25, 1024), 3000);
  EXPECT_EQ(slow.model, "isnet");  // the fastest acceptable one
  EXPECT_FALSE(slow.meets_slo);
  EXPECT_DOUBLE_EQ(slow.solo_ms, 4000);
  // int8 excluded by its accuracy, fp16 (2.5 s) misses a 2 s SLO: fp16 is still the choice,
  // marked as missing it.
  VariantChoice strict = ChooseVariant(Isnet(0.90), Device(1.0, 1024), 2000);
  EXPECT_EQ(strict.model, "isnet-fp16");
  EXPECT_FALSE(strict.meets_slo);
  VariantChoice none = ChooseVariant(Isnet(0.98), Device(1.0, 10), 5000);
  EXPECT_TRUE(none.model.empty());
  EXPECT_NE(none.why.find("no variant can run here"), std::string::npos) << none.why;
}

}  // namespace
}  // namespace epara::allocator
