#include "controller/twin_gate.h"

namespace epara::controller {

bool TwinApproves(double current_rps, double candidate_rps, double noise_rps) {
  const double gain = candidate_rps - current_rps;
  return gain > 0 && gain > noise_rps;
}

}  // namespace epara::controller
