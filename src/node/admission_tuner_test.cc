#include "node/admission_tuner.h"

#include <gtest/gtest.h>

namespace epara::node {
namespace {

using namespace std::chrono_literals;

TEST(AdmissionTunerTest, EachServiceTightensOnItsOwnEvidenceOncePerInterval) {
  router::AdmissionShareOptions o;
  o.ceiling = 0.9;
  AdmissionTuner tuner(o, 1s);
  const auto t0 = AdmissionTuner::Clock::time_point{} + 100s;
  EXPECT_DOUBLE_EQ(tuner.Share("seg", t0), 0.9);  // the configured share first
  // One interval of overload for seg: refusals, and 6 of 10 admitted met the SLO.
  for (int i = 0; i < 20; ++i) tuner.Refused("seg", t0 + 10ms);
  for (int i = 0; i < 10; ++i) tuner.Answered("seg", i < 6, t0 + 20ms);
  tuner.Answered("tensor", true, t0 + 20ms);
  EXPECT_DOUBLE_EQ(tuner.Share("seg", t0 + 500ms), 0.9);  // within the interval: unchanged
  EXPECT_DOUBLE_EQ(tuner.Share("seg", t0 + 1s), 0.9 * 0.9);
  EXPECT_DOUBLE_EQ(tuner.Share("tensor", t0 + 1s), 0.9);  // its own evidence: none yet
  // An interval with no requests keeps the share; then met answers without refusals relax it.
  EXPECT_DOUBLE_EQ(tuner.Share("seg", t0 + 2500ms), 0.81);
  tuner.Answered("seg", true, t0 + 2600ms);
  EXPECT_NEAR(tuner.Share("seg", t0 + 3600ms), 0.81 * 1.03, 1e-12);
}

}  // namespace
}  // namespace epara::node
