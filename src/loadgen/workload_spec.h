// Workload specs for `epara bench` (issue 7): what is sent, when, and to which ingress node, as a
// YAML file, seeded and reproducible. Example (bench/workloads/):
//
//   name: mixed
//   seed: 7
//   duration_s: 20                 # each swept rate runs this long
//   rates: [2, 4, 8]               # offered requests/s (all services together), the sweep
//   services:
//     - model: seg-demo
//       kind: segmentation         # POST /v1/segment/{model}?format=json with a PNG
//       share: 0.5                 # of the offered rate
//       arrivals: {cv: 2}          # Gamma gaps (1: Poisson)
//       images: [{size: 256, weight: 3}, {size: 512, weight: 1}]   # square PNGs
//       slo: {e2e_ms: 800}
//       ingress: {board-1: 1, micro-1: 1}                           # weights
//     - model: llama-demo
//       kind: llm                  # POST /v1/completions, streamed
//       share: 0.5
//       trace: ../../../shared/traces/azure_llm_2023_code.csv       # relative to this file
//       max_context: 256           # trace lengths scaled so p99 of prompt + output fits
//       # without a trace: arrivals: {cv: 1}, prompt_tokens: 64, output_tokens: 32
//       slo: {ttft_ms: 1500, tpot_ms: 250}
//       ingress: {edge-1: 1}
//   shift: {at_s: 10, ingress: {seg-demo: {edge-1: 1}}}   # optional: demand moves mid-run
//
// A trace is replayed as a window of consecutive requests (from a seeded offset) time-scaled to
// share x rate; one time factor for the window keeps its inter-arrival CV, one length factor for
// the trace keeps the length quantiles' shape (workload/trace.h). Errors name the file and field.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "workload/goodput.h"

namespace epara::loadgen {

struct ServiceLoad {
  std::string model;
  bool llm = false;  // kind: llm (else segmentation)
  double share = 1;
  std::string trace;  // absolute path; empty: Gamma arrivals
  double cv = 1;
  int max_context = 0;
  int prompt_tokens = 64, output_tokens = 32;  // LLM without a trace
  std::vector<std::pair<int, double>> images;  // (side in pixels, weight); default 256
  workload::Slo slo;
  std::map<std::string, double> ingress;  // node id -> weight (at least one)
};

struct WorkloadSpec {
  std::string name;
  uint64_t seed = 1;
  double duration_s = 20;
  std::vector<double> rates;
  std::vector<ServiceLoad> services;
  double shift_at_s = -1;                                              // < 0: no shift
  std::map<std::string, std::map<std::string, double>> shift_ingress;  // model -> node -> weight
};

struct ScheduledRequest {
  double at_s = 0;  // from the run's start
  int service = 0;  // index into WorkloadSpec::services
  std::string ingress;
  int image_size = 0;                        // segmentation
  int prompt_tokens = 0, output_tokens = 0;  // LLM
};

Status LoadWorkloadSpec(const std::string& path, WorkloadSpec* out);
Status ParseWorkloadSpec(const std::string& yaml, const std::string& source,
                         const std::string& base_dir, WorkloadSpec* out);

// The requests of one run at the offered `rate`, sorted by time: deterministic for (spec, rate).
// Every rate replays the same pattern compressed in time (the k-th request of a service has the
// same ingress and size at every rate).
// NotFound / InvalidArgument when a trace cannot be read.
Status BuildSchedule(const WorkloadSpec& spec, double rate, std::vector<ScheduledRequest>* out);

}  // namespace epara::loadgen
