#include "allocator/variant_choice.h"

#include <algorithm>
#include <cstdio>

namespace epara::allocator {

VariantChoice ChooseVariant(const std::vector<VariantCandidate>& variants,
                            const DeviceBudget& device, double slo_ms) {
  VariantChoice c;
  double min_accuracy = 0;
  for (const auto& v : variants) min_accuracy = std::max(min_accuracy, v.min_accuracy);
  const VariantCandidate* best_meeting = nullptr;
  const VariantCandidate* best_any = nullptr;
  const double speed = device.speed > 0 ? device.speed : 1.0;
  auto solo = [&](const VariantCandidate& v) { return v.profile.solo_ms / speed; };
  std::string rejected;
  for (const auto& v : variants) {
    char why[160];
    if (v.accuracy < min_accuracy) {
      std::snprintf(why, sizeof why, "%s%s: accuracy %.3f < %.3f", rejected.empty() ? "" : "; ",
                    v.model.c_str(), v.accuracy, min_accuracy);
      rejected += why;
      continue;
    }
    if (device.memory_bytes > 0 && v.profile.memory_bytes > device.memory_bytes) {
      std::snprintf(why, sizeof why, "%s%s: %.0f MB > %.0f MB", rejected.empty() ? "" : "; ",
                    v.model.c_str(), v.profile.memory_bytes / 1048576.0,
                    device.memory_bytes / 1048576.0);
      rejected += why;
      continue;
    }
    if (!best_any || solo(v) < solo(*best_any)) best_any = &v;
    if ((slo_ms <= 0 || solo(v) <= slo_ms) && (!best_meeting || solo(v) < solo(*best_meeting)))
      best_meeting = &v;
  }
  const VariantCandidate* pick = best_meeting ? best_meeting : best_any;
  char line[256];
  if (!pick) {
    c.why = "no variant can run here (" + rejected + ")";
    return c;
  }
  c.model = pick->model;
  c.solo_ms = solo(*pick);
  c.meets_slo = best_meeting != nullptr;
  std::snprintf(
      line, sizeof line, "%s: %.1f ms solo on %s (SLO %.0f ms, %s), accuracy %.3f >= %.3f",
      c.model.c_str(), c.solo_ms, device.node.c_str(), slo_ms,
      c.meets_slo ? "met" : "missed by every acceptable variant", pick->accuracy, min_accuracy);
  c.why = line;
  if (!rejected.empty()) c.why += "; not eligible: " + rejected;
  return c;
}

}  // namespace epara::allocator
