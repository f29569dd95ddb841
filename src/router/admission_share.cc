#include "router/admission_share.h"

#include <algorithm>

namespace epara::router {

double NextAdmissionShare(double share, const AdmissionObservation& seen,
                          const AdmissionShareOptions& o) {
  const double met = seen.answered > 0 ? static_cast<double>(seen.met) / seen.answered : 1.0;
  double next = share;
  const bool evidence = seen.answered >= o.min_answers;
  if (seen.refused > 0 && evidence && met < o.target)
    next = share * o.tighten;
  else if (seen.refused == 0 || (evidence && met >= 0.99))
    next = share * o.relax;
  return std::clamp(next, std::min(o.floor, o.ceiling), o.ceiling);
}

AdmissionShareState& RollAdmissionShare(AdmissionShareState* s, double now_ms, double interval_ms,
                                        const AdmissionShareOptions& o) {
  if (!s->started) {
    *s = {true, o.ceiling, {}, now_ms};
  } else if (now_ms - s->since_ms >= interval_ms) {
    if (s->seen.refused + s->seen.answered > 0) s->share = NextAdmissionShare(s->share, s->seen, o);
    s->seen = {};
    s->since_ms = now_ms;
  }
  return *s;
}

}  // namespace epara::router
