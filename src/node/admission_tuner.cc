#include "node/admission_tuner.h"

namespace epara::node {

AdmissionTuner::State& AdmissionTuner::Roll(const std::string& model, Clock::time_point now) {
  auto [it, fresh] = models_.try_emplace(model);
  State& s = it->second;
  if (fresh) {
    s.share = options_.ceiling;
    s.since = now;
  } else if (now - s.since >= interval_) {
    // An interval without any request leaves the share where it was (no evidence either way).
    if (s.seen.refused + s.seen.answered > 0)
      s.share = router::NextAdmissionShare(s.share, s.seen, options_);
    s.seen = {};
    s.since = now;
  }
  return s;
}

double AdmissionTuner::Share(const std::string& model, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  return Roll(model, now).share;
}

void AdmissionTuner::Refused(const std::string& model, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  Roll(model, now).seen.refused++;
}

void AdmissionTuner::Answered(const std::string& model, bool met, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  State& s = Roll(model, now);
  s.seen.answered++;
  if (met) s.seen.met++;
}

}  // namespace epara::node
