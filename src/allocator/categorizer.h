// The task categorizer (issue 5; DESIGN "Categories and parallel modes"): a pure function from a
// service's descriptor, its profile, the devices' budgets and the observed demand to its request
// category (latency- or frequency-sensitive), its service category (single- or multi-device) and
// the parallel mode that follows. No clock, no I/O: the allocator, `epara plan --explain` and a
// simulator call the same code.
//
// Rules (thresholds are CategorizerConfig, defaults documented there):
//   slack = SLO / solo latency on the fastest device that fits the service
//   load  = arrival rate x solo latency (how many devices' worth of batch-1 work arrives)
//   frequency-sensitive  iff  slack >= fs_min_slack  and  load >= fs_min_load
//       (the SLO leaves room for batching delay and there is enough traffic to batch);
//   latency-sensitive    otherwise (a tight SLO, or traffic too light for batching to pay).
//   multi-device  iff  no device has the memory for one instance, or the service is
//       latency-sensitive and even the fastest device's solo latency exceeds the SLO.
// Modes: LS-SD replicas (no batching delay), FS-SD batching, LS-MD spatial split (vision) or
// pipeline (LLM), FS-MD pipeline. A vision model no device can hold is unplaceable (a spatial split
// runs the whole network on every device).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace epara::allocator {

enum class Task { kVision, kLlm };
enum class RequestCategory { kLatencySensitive, kFrequencySensitive };
enum class ServiceCategory { kSingleDevice, kMultiDevice };
enum class ParallelMode { kReplicas, kBatching, kSpatialSplit, kPipeline, kUnplaceable };

const char* Name(RequestCategory c);       // "latency-sensitive" | "frequency-sensitive"
const char* ShortName(RequestCategory c);  // "LS" | "FS"
const char* Name(ServiceCategory c);       // "single-device" | "multi-device"
const char* ShortName(ServiceCategory c);  // "SD" | "MD"
const char* Name(ParallelMode m);  // "replicas" | "batching" | "spatial-split" | "pipeline" | ...

struct ServiceSpec {
  std::string name;
  Task task = Task::kVision;
  double slo_ms = 0;  // end-to-end (vision) or time to first token (LLM); 0: none (no deadline)
};

// Measured on a reference device of speed 1.0 (see DeviceBudget::speed).
struct ServiceProfile {
  double solo_ms = 0;        // one request alone at batch 1 (LLM: prefill of a typical prompt)
  int64_t memory_bytes = 0;  // one instance (LLM: weights + KV cache budget)
};

struct DeviceBudget {
  std::string node;
  std::string device = "cpu";
  int64_t memory_bytes = 0;
  double speed = 1.0;  // relative to the profile's reference device: solo latency = solo_ms / speed
};

struct Demand {
  double rate_rps = 0;  // observed (smoothed) arrival rate of the service, cluster-wide
};

struct CategorizerConfig {
  double fs_min_slack = 2.0;  // SLO at least this many solo latencies: batching delay fits
  double fs_min_load = 0.5;   // at least half a device of batch-1 work arriving
};

struct Categorization {
  RequestCategory request = RequestCategory::kLatencySensitive;
  ServiceCategory service = ServiceCategory::kSingleDevice;
  ParallelMode mode = ParallelMode::kReplicas;
  // The numbers behind the decision.
  double best_solo_ms = 0;  // on the fastest device that fits (or the fastest, if none fits)
  double slack = 0;         // SLO / best_solo_ms (infinite without an SLO)
  double load = 0;          // rate x best_solo_ms
  bool fits_one_device = true;
  int devices_needed = 1;  // MD: tiles (spatial split) or stages (pipeline)
  std::string why;         // one sentence for `epara plan --explain`
};

Categorization Categorize(const ServiceSpec& service, const ServiceProfile& profile,
                          const std::vector<DeviceBudget>& devices, const Demand& demand,
                          const CategorizerConfig& config = {});

}  // namespace epara::allocator
