// Choosing among a service's variants (the same service as several models, e.g. ISNet int8 and
// fp16; ModelDescriptor::variant): a pure function from the variants' profiles and declared
// accuracy to the one a device should serve.
//
// Rule: acceptable = accuracy >= the service's min_accuracy (the largest any variant declares);
// among acceptable variants whose instance fits the device's memory, the fastest one whose solo
// latency on the device (profile / device speed) meets the SLO. When none meets it, the fastest
// acceptable one that fits (meets_slo false: the device is too slow for this service alone). When
// none fits or none is acceptable, no model (the device should not serve the service).
#pragma once

#include <string>
#include <vector>

#include "allocator/categorizer.h"

namespace epara::allocator {

struct VariantCandidate {
  std::string model;
  double accuracy = 1.0;
  double min_accuracy = 0.0;
  ServiceProfile profile;  // on the reference device (speed 1)
};

struct VariantChoice {
  std::string model;   // empty: none can be served on this device
  double solo_ms = 0;  // the chosen variant's solo latency on the device
  bool meets_slo = false;
  std::string why;  // one sentence with the numbers, for `epara plan --explain`
};

VariantChoice ChooseVariant(const std::vector<VariantCandidate>& variants,
                            const DeviceBudget& device, double slo_ms);

}  // namespace epara::allocator
