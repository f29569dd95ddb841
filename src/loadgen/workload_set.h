// The workloads of one `epara bench` or `epara sim` run: each file loaded
// (loadgen/workload_spec.h), the command's overrides applied, the workloads whose schedule cannot
// be built (a missing trace) skipped with the reason, and the SLO table the report needs
// (loadgen/report.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "loadgen/report.h"
#include "loadgen/workload_spec.h"

namespace epara::loadgen {

struct WorkloadOverrides {
  double duration_s = 0;      // > 0: every swept rate runs this long
  std::vector<double> rates;  // not empty: replaces every workload's sweep
  double rate_scale = 1;      // multiplies every swept rate
};

struct WorkloadSet {
  std::vector<WorkloadSpec> specs;
  std::map<std::string, std::vector<ServiceInfo>> services;  // by workload name
  std::vector<std::string> skipped;                          // "workload W skipped: why"
};

// The first file that cannot be read or parsed is the error (it names the file and field).
Status LoadWorkloads(const std::vector<std::string>& paths, const WorkloadOverrides& overrides,
                     WorkloadSet* out);

}  // namespace epara::loadgen
