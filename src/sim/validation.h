// Simulated vs measured (issue 23's validation): the same summary (loadgen::Summarize) of a real
// `epara bench` report and of an `epara sim` run, compared per (workload, policy): goodput at 90%
// attainment (relative error) and SLO attainment at every rate both swept (difference in points).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "loadgen/report.h"

namespace epara::sim {

struct ValidationRow {
  std::string workload, policy;
  double real_goodput = 0, sim_goodput = 0;
  double goodput_error = 0;  // |sim - real| / real (0 when both are 0; 1 when only real is 0)
  std::map<double, std::pair<double, double>> attainment;  // rate -> (real, sim), 0..1
  double max_attainment_gap_points = 0;                    // over the rates, in points (0..100)
};

std::vector<ValidationRow> CompareRuns(
    const std::vector<loadgen::RunLog>& real, const std::vector<loadgen::RunLog>& simulated,
    const std::map<std::string, std::vector<loadgen::ServiceInfo>>& services);

// Reads the real report.json, compares, and writes `dir`/validation.json and validation.md.
Status WriteValidation(const std::string& real_report,
                       const std::vector<loadgen::RunLog>& simulated,
                       const std::map<std::string, std::vector<loadgen::ServiceInfo>>& services,
                       const std::string& dir, const std::string& command);

}  // namespace epara::sim
