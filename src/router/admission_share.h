// The adaptive admission share (issue 27's overload): reject-early admits a request when its
// predicted completion is within `share` x its SLO (router/route_policy.h). At 1.0, under
// overload the admitted queue settles where predictions reach the SLO, and since predictions do
// not see every cost (the CPU that refusing thousands of requests takes, co-located clients) a
// third of what is admitted then finishes past it (session 23's overload bench); a fixed 0.8 keeps
// 97% of capacity meeting the SLO there but costs 4-5% of goodput where predictions are exact (the
// simulator). The share therefore adapts per service, once per interval, from what the node
// observed in it: tightened while requests are refused and the admitted ones miss the SLO,
// relaxed back towards the configured share when refusals stop or nearly all admitted requests
// meet it. A pure function so the simulator can reuse it.
#pragma once

#include <cstdint>

namespace epara::router {

// One interval's observation for one service at one ingress node.
struct AdmissionObservation {
  uint64_t refused = 0;   // refused up front (reject-early: no candidate predicted in time)
  uint64_t answered = 0;  // admitted and answered without error
  uint64_t met = 0;       // of those, within the SLO
};

struct AdmissionShareOptions {
  double ceiling = 1.0;      // the configured share (NodeConfig::admission_slo_share)
  double floor = 0.5;        // never tighter than this
  double target = 0.95;      // admitted requests meeting the SLO that overload should keep
  double tighten = 0.9;      // x share per interval below the target while refusing
  double relax = 1.03;       // x share per interval without refusals, or at >= 0.99 met
  uint64_t min_answers = 5;  // fewer answers in an interval: no evidence to tighten on
};

// The share for the next interval. Tightens (x tighten, down to floor) when the interval refused
// requests and fewer than `target` of at least `min_answers` admitted answers met the SLO; relaxes
// (x relax, up to ceiling) when nothing was refused or at least 99% of at least `min_answers` met;
// holds otherwise.
double NextAdmissionShare(double share, const AdmissionObservation& seen,
                          const AdmissionShareOptions& o = {});

// One service's share at one ingress node over time, the clock in milliseconds (a node's steady
// clock, or the simulator's): the node's AdmissionTuner and the simulator both keep one per
// service and roll it the same way.
struct AdmissionShareState {
  bool started = false;
  double share = 1.0;
  AdmissionObservation seen;  // in the interval that began at since_ms
  double since_ms = 0;
};

// Rolls `s` forward to now_ms and returns it: the first call starts it at o.ceiling; once an
// interval (interval_ms) has passed, a share moves by NextAdmissionShare over what the interval
// saw, and a new interval begins. An interval without any request leaves the share where it was
// (no evidence either way). The caller then counts into s->seen.
AdmissionShareState& RollAdmissionShare(AdmissionShareState* s, double now_ms, double interval_ms,
                                        const AdmissionShareOptions& o = {});

}  // namespace epara::router
