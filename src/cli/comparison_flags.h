// What `epara bench` (real testbed) and `epara sim` (simulated cluster) share: the same cluster
// file, workloads, policies and report directory, the same timing options, the same workload
// loading and the same recorded command line, so that a simulated run is the real run's twin by
// construction.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "loadgen/workload_set.h"

namespace epara::cli {

struct ComparisonFlags {
  explicit ComparisonFlags(std::string default_out);
  std::string cluster;
  std::vector<std::string> workloads;
  std::vector<std::string> policies;  // default: every serving policy
  std::string out;
  double duration_s = 0;         // 0: each workload's own
  double rate_scale = 1;         // multiplies every swept rate
  double warmup_s = 2;           // unmeasured load before the measured runs
  double request_timeout_s = 5;  // a request unanswered by then is a miss (and abandoned)
  // Runs per (policy, workload, rate), each with its own arrival seed (workload seed + repeat x
  // RepeatSeedStride): the report gives goodput with a 95% interval (loadgen/report.h).
  int repeats = 1;
  std::string command_line;  // recorded in the report
};

// --cluster, --workload, --policy, --out, --duration-s, --rate-scale, --warmup-s,
// --request-timeout-s, --repeats.
void AddComparisonOptions(CLI::App* cmd, ComparisonFlags* flags);

// The arrival seed of repeat k: the workload's seed + k x this stride.
inline constexpr uint64_t kRepeatSeedStride = 7919;

// `w` with repeat k's arrivals (its seed moved by k x kRepeatSeedStride).
inline loadgen::WorkloadSpec ForRepeat(const loadgen::WorkloadSpec& w, int repeat) {
  loadgen::WorkloadSpec r = w;
  r.seed = w.seed + kRepeatSeedStride * static_cast<uint64_t>(repeat);
  return r;
}

// "epara <command> --cluster C --workload W... --policy P,... --out D" and the non-default
// --duration-s / --rate-scale / --repeats.
std::string ComparisonCommandLine(const std::string& command, const ComparisonFlags& flags);

// The workloads with the flags' overrides (`rates` not empty: replaces every sweep); skipped ones
// are logged and added to `notes`. False, after logging, when a file is bad or none can run.
bool LoadComparisonWorkloads(const ComparisonFlags& flags, const std::vector<double>& rates,
                             loadgen::WorkloadSet* set, std::vector<std::string>* notes);

}  // namespace epara::cli
