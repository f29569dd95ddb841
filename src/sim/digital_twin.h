// DigitalTwin (issue 24): the simulator run forward from live state, so the controller can weigh a
// plan before it applies it (controller/twin_gate.h). Given the nodes the controller sees, a
// placement and the smoothed demand per (service, ingress), it builds Poisson arrivals at each
// demand's mean over a short warm-up plus the horizon (or, with the query's backlog known, the
// requests the nodes hold at the horizon's start and arrivals over the horizon only), replays the
// recent requests' sizes, and runs the cluster `base` describes (its models, node speeds,
// memories, batching, routing, splits and pipelines) with only the live nodes serving the
// placement. Predicted goodput: the arrivals inside the horizon that meet their model's SLO
// (ModelSloMet), per second.
//
// What it does not know and therefore assumes: warm instances at the start (a candidate's new
// instances are counted as loaded), empty queues unless the backlog is known (then: each held
// request re-enters at its node, a running LLM request with half its output left), Poisson
// arrivals at the mean (bursts beyond the smoothed rate are not forecast), the base spec's
// network, and no per-token HTTP work or load generator on the host (in overload on a shared
// host the real nodes collapse sooner: bench/results/goodput_edge_twin_s29).
//
// Deterministic: the same query -> the same verdict. Thread-compatible (const after construction).
#pragma once

#include "controller/twin_gate.h"
#include "core/status.h"
#include "sim/simulation.h"

namespace epara::sim {

// Whether `o` met `m`'s SLO as the nodes judge it: vision/tensor end to end within slo_ms; an LLM's
// first token within slo_ms (TTFT) and, when tpot_ms > 0, its pace within tpot_ms.
bool ModelSloMet(const SimModel& m, const SimOutcome& o);

struct TwinOptions {
  double warmup_s = 2;  // simulated before the horizon at the same rates; not counted
  int batches = 5;      // the horizon's batches for the paired difference's standard error
};

class DigitalTwin {
 public:
  // `base`: the cluster as configured (sim/scenario.h BuildSimSpec); its faults, controller and
  // twin settings are ignored.
  explicit DigitalTwin(SimSpec base, TwinOptions options = {});

  // Forecasts `query.current` and `query.candidate` on the same arrivals. InvalidArgument when a
  // placement names a service or node the base spec lacks.
  Status Forecast(const controller::TwinQuery& query, controller::TwinVerdict* verdict) const;

  // One placement's predicted goodput per batch of the horizon (requests/s), and the arrivals.
  Status Run(const controller::TwinQuery& query, const scheduler::Instances& placement,
             std::vector<double>* per_batch_rps, double* offered_rps) const;

  double warmup_s() const { return options_.warmup_s; }

 private:
  // Run's simulation of `placement` on given arrivals (`names` index `schedule`'s services).
  Status RunOn(const controller::TwinQuery& query, const scheduler::Instances& placement,
               const std::vector<std::string>& names,
               const std::vector<loadgen::ScheduledRequest>& schedule,
               std::vector<double>* per_batch_rps, double* offered_rps) const;

  SimSpec base_;
  TwinOptions options_;
};

}  // namespace epara::sim
