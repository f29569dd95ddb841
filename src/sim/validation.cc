#include "sim/validation.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace epara::sim {

std::vector<ValidationRow> CompareRuns(
    const std::vector<loadgen::RunLog>& real, const std::vector<loadgen::RunLog>& simulated,
    const std::map<std::string, std::vector<loadgen::ServiceInfo>>& services) {
  const auto r = loadgen::Summarize(real, services);
  const auto s = loadgen::Summarize(simulated, services);
  std::vector<ValidationRow> rows;
  for (const loadgen::WorkloadSummary& sw : s)
    for (const loadgen::PolicySummary& sp : sw.policies)
      for (const loadgen::WorkloadSummary& rw : r) {
        if (rw.workload != sw.workload) continue;
        for (const loadgen::PolicySummary& rp : rw.policies) {
          if (rp.policy != sp.policy) continue;
          ValidationRow row;
          row.workload = sw.workload;
          row.policy = sp.policy;
          row.real_goodput = rp.goodput90;
          row.sim_goodput = sp.goodput90;
          row.goodput_error = rp.goodput90 > 0
                                  ? std::abs(sp.goodput90 - rp.goodput90) / rp.goodput90
                              : sp.goodput90 > 0 ? 1
                                                 : 0;
          for (const workload::SweepPoint& p : rp.sweep)
            row.attainment[p.rate].first = p.attainment;
          for (const workload::SweepPoint& p : sp.sweep)
            row.attainment[p.rate].second = p.attainment;
          for (auto it = row.attainment.begin(); it != row.attainment.end();) {
            bool both = false;
            for (const auto& p : rp.sweep)
              for (const auto& q : sp.sweep) both |= p.rate == it->first && q.rate == it->first;
            if (!both) {
              it = row.attainment.erase(it);
              continue;
            }
            row.max_attainment_gap_points =
                std::max(row.max_attainment_gap_points,
                         100 * std::abs(it->second.first - it->second.second));
            ++it;
          }
          rows.push_back(std::move(row));
        }
      }
  return rows;
}

Status WriteValidation(const std::string& real_report,
                       const std::vector<loadgen::RunLog>& simulated,
                       const std::map<std::string, std::vector<loadgen::ServiceInfo>>& services,
                       const std::string& dir, const std::string& command) {
  std::vector<loadgen::RunLog> real;
  std::string real_command;
  std::vector<std::string> notes;
  EPARA_RETURN_IF_ERROR(loadgen::ReadReportRuns(real_report, &real, &real_command, &notes));
  const std::vector<ValidationRow> rows = CompareRuns(real, simulated, services);
  if (rows.empty())
    return InvalidArgument(real_report +
                           " has no (workload, policy) in common with the simulation");
  nlohmann::json j = {{"command", command},
                      {"real_report", real_report},
                      {"real_command", real_command},
                      {"rows", nlohmann::json::array()}};
  std::string md =
      "# epara sim vs the real testbed\n\n```sh\n" + command + "\n```\n\nMeasured: `" +
      real_report + "` (" + real_command +
      ").\n\nGoodput @90% (req/s) and its relative error; SLO attainment per swept "
      "rate, measured / simulated (%), and the largest gap in points.\n\n"
      "| workload | policy | goodput real | goodput sim | error | attainment real / sim "
      "by rate | max gap (points) |\n|---|---|---|---|---|---|---|\n";
  for (const ValidationRow& r : rows) {
    nlohmann::json a = nlohmann::json::array();
    std::string by_rate;
    for (const auto& [rate, v] : r.attainment) {
      a.push_back({{"rate", rate}, {"real", v.first}, {"sim", v.second}});
      char b[80];
      std::snprintf(b, sizeof b, "%s%g: %.0f / %.0f", by_rate.empty() ? "" : ", ", rate,
                    100 * v.first, 100 * v.second);
      by_rate += b;
    }
    j["rows"].push_back({{"workload", r.workload},
                         {"policy", r.policy},
                         {"real_goodput", r.real_goodput},
                         {"sim_goodput", r.sim_goodput},
                         {"goodput_error", r.goodput_error},
                         {"attainment", a},
                         {"max_attainment_gap_points", r.max_attainment_gap_points}});
    char line[600];
    std::snprintf(line, sizeof line, "| %s | %s | %.2f | %.2f | %.0f%% | %s | %.0f |\n",
                  r.workload.c_str(), r.policy.c_str(), r.real_goodput, r.sim_goodput,
                  100 * r.goodput_error, by_rate.c_str(), r.max_attainment_gap_points);
    md += line;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::ofstream(std::filesystem::path(dir) / "validation.json") << j.dump(1) << "\n";
  std::ofstream(std::filesystem::path(dir) / "validation.md") << md;
  return Status::Ok();
}

}  // namespace epara::sim
