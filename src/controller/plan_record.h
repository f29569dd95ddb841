// The controller's period records (issue 26: every placement and mode change recorded with the
// numbers behind it, queryable and shown). Pure functions: the controller builds one record per
// period from its PeriodInput and PeriodPlan and keeps the newest ones in the cluster store
// (cluster::kPlansKey), which every node serves at GET /v1/plans and the dashboard shows.
//
// A record (JSON):
//   {"period": N, "at_ms": unix ms, "nodes": live nodes, "predicted_goodput_rps": G,
//    "placement": {"units", "locality", "keep"},   keep: the hysteresis, in requests/s per unit
//    "burst_headroom": h, "changed": whether any instance starts or stops,
//    "services": [{"name", "demand_rps", "capacity_rps", "predicted_goodput_rps", "slo_ms",
//                  "instances": [nodes after], "added": [...], "removed": [...], "why"}],
//    "steps": [{"kind": "load"|"unload", "service", "node"}],
//    "unmoved": {"llm": [...], "split": [...]}}   services the controller leaves where they are
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "controller/period_plan.h"

namespace epara::controller {

inline constexpr size_t kPlanRecordsKept = 20;

nlohmann::json PlanRecordJson(const PeriodInput& in, const PeriodPlan& plan, uint64_t period,
                              double unix_ms);

// `history`: the stored array's text (empty or unreadable: none yet). Returns the array with
// `record` appended, the oldest dropped beyond `keep`.
std::string AppendPlanRecord(const std::string& history, const nlohmann::json& record,
                             size_t keep = kPlanRecordsKept);

}  // namespace epara::controller
