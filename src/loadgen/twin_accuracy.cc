#include "loadgen/twin_accuracy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace epara::loadgen {
namespace {

using json = nlohmann::json;

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(v.size() - 1, i)];
}

double ShareWithin(const std::vector<double>& v, double bound) {
  if (v.empty()) return 0;
  return static_cast<double>(
             std::count_if(v.begin(), v.end(), [bound](double e) { return e <= bound; })) /
         static_cast<double>(v.size());
}

double Number(const json& o, const char* key) {
  return o.contains(key) && o[key].is_number() ? o[key].get<double>() : -1;
}

}  // namespace

void MergePlanRecords(const json& records, std::map<uint64_t, json>* by_period) {
  if (!records.is_array()) return;
  for (const json& r : records)
    if (r.is_object() && r.contains("period") && r["period"].is_number_unsigned())
      (*by_period)[r["period"].get<uint64_t>()] = r;
}

TwinAccuracy SummarizeTwin(const std::map<uint64_t, json>& by_period) {
  TwinAccuracy a;
  std::vector<double> forecast, hindsight;
  for (const auto& [period, r] : by_period) {
    if (!r.contains("twin") || !r["twin"].is_object() || !r["twin"].contains("last_period"))
      continue;
    const json& l = r["twin"]["last_period"];
    if (!l.is_object()) continue;
    TwinPeriodError e{period, Number(l, "offered_rps"), Number(l, "observed_rps"),
                      Number(l, "forecast_rps"), Number(l, "hindsight_rps")};
    if (e.offered_rps <= 0 || e.observed_rps <= 0 || e.forecast_rps < 0 || e.hindsight_rps < 0 ||
        Number(l, "forecast_offered_rps") <= 0)
      continue;
    forecast.push_back(std::abs(e.forecast_rps - e.observed_rps) / e.observed_rps);
    hindsight.push_back(std::abs(e.hindsight_rps - e.observed_rps) / e.observed_rps);
    a.periods.push_back(e);
  }
  a.forecast_median = Quantile(forecast, 0.5);
  a.forecast_p90 = Quantile(forecast, 0.9);
  a.forecast_within15 = ShareWithin(forecast, 0.15);
  a.hindsight_median = Quantile(hindsight, 0.5);
  a.hindsight_p90 = Quantile(hindsight, 0.9);
  a.hindsight_within15 = ShareWithin(hindsight, 0.15);
  return a;
}

std::string TwinAccuracyNote(const std::string& policy, const TwinAccuracy& a) {
  if (a.periods.empty()) return "";
  char line[400];
  std::snprintf(line, sizeof line,
                "digital twin (%s): %zu controller periods with load; predicted vs observed "
                "goodput per period: forecast median error %.1f%%, p90 %.1f%%, %.0f%% of periods "
                "within 15%%; hindsight (the period's own rates: the model alone) median %.1f%%, "
                "p90 %.1f%%, %.0f%% within 15%%",
                policy.c_str(), a.periods.size(), 100 * a.forecast_median, 100 * a.forecast_p90,
                100 * a.forecast_within15, 100 * a.hindsight_median, 100 * a.hindsight_p90,
                100 * a.hindsight_within15);
  return line;
}

json TwinAccuracyJson(const TwinAccuracy& a) {
  json periods = json::array();
  for (const TwinPeriodError& e : a.periods)
    periods.push_back({{"period", e.period},
                       {"offered_rps", e.offered_rps},
                       {"observed_rps", e.observed_rps},
                       {"forecast_rps", e.forecast_rps},
                       {"hindsight_rps", e.hindsight_rps}});
  return {{"forecast",
           {{"median", a.forecast_median},
            {"p90", a.forecast_p90},
            {"within_15pct", a.forecast_within15}}},
          {"hindsight",
           {{"median", a.hindsight_median},
            {"p90", a.hindsight_p90},
            {"within_15pct", a.hindsight_within15}}},
          {"periods", periods}};
}

}  // namespace epara::loadgen
