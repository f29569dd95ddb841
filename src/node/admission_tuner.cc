#include "node/admission_tuner.h"

namespace epara::node {

router::AdmissionShareState& AdmissionTuner::Roll(const std::string& model, Clock::time_point now) {
  const double now_ms = std::chrono::duration<double, std::milli>(now.time_since_epoch()).count();
  return router::RollAdmissionShare(&models_[model], now_ms,
                                    std::chrono::duration<double, std::milli>(interval_).count(),
                                    options_);
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
  router::AdmissionShareState& s = Roll(model, now);
  s.seen.answered++;
  if (met) s.seen.met++;
}

}  // namespace epara::node
