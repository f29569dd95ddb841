// DemandEstimate: one service's request rate at one ingress node, as the controller sees it period
// after period (issue 6: "rates smoothed, with burstiness"). Pure: no clock, no I/O.
//
// Each period contributes one observed rate r (requests counted / seconds elapsed). The estimate
// keeps exponentially weighted moments with weight `alpha` on the newest period:
//   mean <- mean + alpha * (r - mean)
//   var  <- (1 - alpha) * (var + alpha * (r - mean_before)^2)     (West 1979, EW variance)
// The first observation seeds the mean with zero variance.
//
// Provisioned(k) = mean + k * stddev is what the placement is asked to serve: bursty demand (a
// large spread between periods, such as the Azure code trace's CV of 13) gets capacity above its
// mean so a burst does not push it past the SLO, while steady demand gets its mean. k = 0 turns
// the headroom off.
#pragma once

namespace epara::scheduler {

class DemandEstimate {
 public:
  void Observe(double rate, double alpha);
  double mean() const { return mean_; }
  double stddev() const;
  double Provisioned(double k) const;
  bool seeded() const { return seeded_; }

 private:
  bool seeded_ = false;
  double mean_ = 0;
  double var_ = 0;
};

}  // namespace epara::scheduler
