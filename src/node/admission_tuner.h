// Per-service adaptive admission shares at one ingress node (router/admission_share.h): counts
// what the node refused and how its admitted requests fared, and once per interval moves each
// service's share with router::NextAdmissionShare. Thread-safe; the clock is passed in (tests
// drive it).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "router/admission_share.h"

namespace epara::node {

class AdmissionTuner {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AdmissionTuner(router::AdmissionShareOptions options,
                          std::chrono::milliseconds interval = std::chrono::seconds(1))
      : options_(options), interval_(interval) {}

  // The share to admit `model`'s next request with (the configured one until evidence moves it).
  double Share(const std::string& model, Clock::time_point now);
  // A request for `model` refused up front.
  void Refused(const std::string& model, Clock::time_point now);
  // An admitted request for `model` answered without error; `met`: within its SLO.
  void Answered(const std::string& model, bool met, Clock::time_point now);

 private:
  // `model`'s state with its interval rolled forward to `now` (mu_ held).
  router::AdmissionShareState& Roll(const std::string& model, Clock::time_point now);

  const router::AdmissionShareOptions options_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  // GUARDED_BY(mu_); bounded by the services known here.
  std::map<std::string, router::AdmissionShareState> models_;
};

}  // namespace epara::node
