#include "loadgen/twin_accuracy.h"

#include <gtest/gtest.h>

namespace epara::loadgen {
namespace {

using json = nlohmann::json;

json Record(uint64_t period, json last_period) {
  json r = {{"period", period}, {"twin", {{"applied", false}}}};
  if (!last_period.is_null()) r["twin"]["last_period"] = std::move(last_period);
  return r;
}

json Last(double offered, double observed, double forecast, double hindsight,
          double forecast_offered = 1) {
  return {{"offered_rps", offered},
          {"forecast_offered_rps", forecast_offered},
          {"observed_rps", observed},
          {"forecast_rps", forecast},
          {"hindsight_rps", hindsight}};
}

TEST(TwinAccuracyTest, CountsLoadedPeriodsAndSummarizesBothErrors) {
  std::map<uint64_t, json> by_period;
  // Two reads of the store that overlap: period 3 is in both.
  MergePlanRecords(
      json::array({Record(1, nullptr), Record(2, Last(4, 4, 5, 4.2)), Record(3, Last(0, 0, 1, 0))}),
      &by_period);
  MergePlanRecords(json::array({Record(3, Last(0, 0, 1, 0)), Record(4, Last(8, 5, 4, 4.5)),
                                Record(5, Last(2, 0, 1, 1)), Record(6, Last(3, 3, 0, 3, 0))}),
                   &by_period);
  MergePlanRecords(json::object(), &by_period);  // not an array: nothing
  ASSERT_EQ(by_period.size(), 6u);
  const TwinAccuracy a = SummarizeTwin(by_period);
  // Period 1 has no last period, 3 no load, 5 no observed goodput, 6 no forecast (no demand was
  // known when it began).
  ASSERT_EQ(a.periods.size(), 2u);
  EXPECT_EQ(a.periods[0].period, 2u);
  EXPECT_EQ(a.periods[1].period, 4u);
  // Forecast errors 25% and 20%; hindsight 5% and 10%.
  EXPECT_NEAR(a.forecast_median, 0.20, 1e-9);
  EXPECT_NEAR(a.forecast_p90, 0.25, 1e-9);
  EXPECT_DOUBLE_EQ(a.forecast_within15, 0.0);
  EXPECT_NEAR(a.hindsight_median, 0.05, 1e-9);
  EXPECT_NEAR(a.hindsight_p90, 0.10, 1e-9);
  EXPECT_DOUBLE_EQ(a.hindsight_within15, 1.0);
  const std::string note = TwinAccuracyNote("epara", a);
  EXPECT_NE(note.find("2 controller periods"), std::string::npos) << note;
  EXPECT_NE(note.find("100% within 15%"), std::string::npos) << note;
  EXPECT_EQ(TwinAccuracyJson(a)["periods"].size(), 2u);
  EXPECT_EQ(TwinAccuracyNote("epara", SummarizeTwin({})), "");
}

}  // namespace
}  // namespace epara::loadgen
