#include "allocator/categorizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace epara::allocator {

const char* Name(RequestCategory c) {
  return c == RequestCategory::kLatencySensitive ? "latency-sensitive" : "frequency-sensitive";
}
const char* ShortName(RequestCategory c) {
  return c == RequestCategory::kLatencySensitive ? "LS" : "FS";
}
const char* Name(ServiceCategory c) {
  return c == ServiceCategory::kSingleDevice ? "single-device" : "multi-device";
}
const char* ShortName(ServiceCategory c) {
  return c == ServiceCategory::kSingleDevice ? "SD" : "MD";
}
const char* Name(ParallelMode m) {
  switch (m) {
    case ParallelMode::kReplicas:
      return "replicas";
    case ParallelMode::kBatching:
      return "batching";
    case ParallelMode::kSpatialSplit:
      return "spatial-split";
    case ParallelMode::kPipeline:
      return "pipeline";
    case ParallelMode::kUnplaceable:
      return "unplaceable";
  }
  return "?";
}

Categorization Categorize(const ServiceSpec& service, const ServiceProfile& profile,
                          const std::vector<DeviceBudget>& devices, const Demand& demand,
                          const CategorizerConfig& config) {
  Categorization c;
  // The fastest device that can hold one instance; without one, the fastest device at all.
  double best_fit_speed = 0, best_speed = 0;
  for (const DeviceBudget& d : devices) {
    best_speed = std::max(best_speed, d.speed);
    if (d.memory_bytes >= profile.memory_bytes) best_fit_speed = std::max(best_fit_speed, d.speed);
  }
  c.fits_one_device = best_fit_speed > 0;
  const double speed = c.fits_one_device ? best_fit_speed : best_speed;
  c.best_solo_ms = speed > 0 ? profile.solo_ms / speed : std::numeric_limits<double>::infinity();
  c.slack = service.slo_ms > 0 && c.best_solo_ms > 0 ? service.slo_ms / c.best_solo_ms
                                                     : std::numeric_limits<double>::infinity();
  c.load = demand.rate_rps * c.best_solo_ms / 1e3;

  const bool frequency = c.slack >= config.fs_min_slack && c.load >= config.fs_min_load;
  c.request = frequency ? RequestCategory::kFrequencySensitive : RequestCategory::kLatencySensitive;
  const bool too_slow = !frequency && service.slo_ms > 0 && c.best_solo_ms > service.slo_ms;
  c.service = !c.fits_one_device || too_slow ? ServiceCategory::kMultiDevice
                                             : ServiceCategory::kSingleDevice;

  char buf[256];
  if (c.service == ServiceCategory::kSingleDevice) {
    c.mode = frequency ? ParallelMode::kBatching : ParallelMode::kReplicas;
    std::snprintf(buf, sizeof buf,
                  frequency ? "SLO is %.1fx the solo latency and %.2f devices of work arrive: "
                              "batch on data-parallel replicas"
                            : "SLO is %.1fx the solo latency with %.2f devices of work arriving: "
                              "replicas without batching delay",
                  c.slack, c.load);
  } else if (!c.fits_one_device) {
    // Memory: split the layers (pipeline); a vision network cannot be split by tiles to save
    // memory.
    if (service.task == Task::kVision) {
      c.mode = ParallelMode::kUnplaceable;
      std::snprintf(buf, sizeof buf,
                    "one instance needs %.0f MB and no device has that much; spatial tiles would "
                    "each need the whole network",
                    profile.memory_bytes / 1048576.0);
    } else {
      c.mode = ParallelMode::kPipeline;
      std::vector<int64_t> mem;
      for (const DeviceBudget& d : devices) mem.push_back(d.memory_bytes);
      std::sort(mem.rbegin(), mem.rend());
      int64_t sum = 0;
      c.devices_needed = 0;
      for (int64_t m : mem) {
        sum += m;
        c.devices_needed++;
        if (sum >= profile.memory_bytes) break;
      }
      if (sum < profile.memory_bytes) c.mode = ParallelMode::kUnplaceable;
      std::snprintf(buf, sizeof buf,
                    "one instance needs %.0f MB, more than any device holds: pipeline its layers "
                    "over %d devices",
                    profile.memory_bytes / 1048576.0, c.devices_needed);
    }
  } else {
    // Latency: one device cannot meet the SLO; split each request.
    c.devices_needed = static_cast<int>(std::ceil(c.best_solo_ms / service.slo_ms));
    c.mode = service.task == Task::kVision ? ParallelMode::kSpatialSplit : ParallelMode::kPipeline;
    std::snprintf(buf, sizeof buf,
                  "the fastest device needs %.1f ms alone, over the %.0f ms SLO: split each "
                  "request over at least %d devices",
                  c.best_solo_ms, service.slo_ms, c.devices_needed);
  }
  c.why = buf;
  return c;
}

}  // namespace epara::allocator
