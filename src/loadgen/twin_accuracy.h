// TwinAccuracy (issue 24): how close the controller's digital twin came to what the nodes observed,
// period by period, over a benchmark's runs. Reads the controller's period records
// (GET /v1/plans, controller/plan_record.h); each record's `twin.last_period` holds, for the period
// before it: the twin's forecast (made at its start from the smoothed demand), its hindsight (the
// placement in force run at that period's own rates) and the goodput the nodes observed (requests
// that entered and met their SLO, per second). Pure.
//
// A period counts when requests entered in it (its own rate > 0), some met their SLO (the
// relative error needs an observed goodput > 0) and the controller had a demand estimate when it
// forecast the period (its forecast simulated arrivals: not the controller's first read). Idle
// periods between rate points say nothing.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace epara::loadgen {

struct TwinPeriodError {
  uint64_t period = 0;
  double offered_rps = 0, observed_rps = 0, forecast_rps = 0, hindsight_rps = 0;
};

struct TwinAccuracy {
  std::vector<TwinPeriodError> periods;  // the counted ones, by period
  // |predicted - observed| / observed: median, 90th percentile, share of periods within 15%.
  double forecast_median = 0, forecast_p90 = 0, forecast_within15 = 0;
  double hindsight_median = 0, hindsight_p90 = 0, hindsight_within15 = 0;
};

// Merges one GET /v1/plans answer (a JSON array of period records) into `by_period`, keyed by the
// record's `period`; the store keeps only the last records, so callers merge reads taken often
// enough. Not an array: nothing merged.
void MergePlanRecords(const nlohmann::json& records, std::map<uint64_t, nlohmann::json>* by_period);

TwinAccuracy SummarizeTwin(const std::map<uint64_t, nlohmann::json>& by_period);

// One line for the report's notes ("" when no period counted).
std::string TwinAccuracyNote(const std::string& policy, const TwinAccuracy& a);

nlohmann::json TwinAccuracyJson(const TwinAccuracy& a);

}  // namespace epara::loadgen
