#include "scheduler/demand_estimate.h"

#include <algorithm>
#include <cmath>

namespace epara::scheduler {

void DemandEstimate::Observe(double rate, double alpha) {
  rate = std::max(0.0, rate);
  alpha = std::clamp(alpha, 0.0, 1.0);
  if (!seeded_) {
    seeded_ = true;
    mean_ = rate;
    var_ = 0;
    return;
  }
  const double diff = rate - mean_;
  mean_ += alpha * diff;
  var_ = (1 - alpha) * (var_ + alpha * diff * diff);
}

double DemandEstimate::stddev() const { return std::sqrt(std::max(0.0, var_)); }

double DemandEstimate::Provisioned(double k) const { return mean_ + std::max(0.0, k) * stddev(); }

}  // namespace epara::scheduler
