// Controller: the state-aware scheduler's loop (issue 6). Every period it
//   1. observes: the live nodes (cluster store), each node's ingress request counters and its view
//      of the others' load digests (GET /v1/cluster), turned into per-(service, ingress node)
//      request rates smoothed over periods, with their spread as burstiness headroom
//      (scheduler/demand_estimate.h);
//   2. places: scheduler::Place over that snapshot (profiles from the options, or else service
//      times the nodes observed), with the instances running now as the current placement
//      (hysteresis keeps them unless a move wins);
//   3. deploys: the difference as loads and unloads in a safe order (scheduler::PlanDeployment),
//      carried out on the nodes with the adaptive deployment protocol (deploy_executor.h).
// A node leaving the cluster (its record deleted: lease expired or left) triggers a period at
// once instead of at the next tick of the period: node failure is an immediate re-plan.
// The data plane does not depend on it: when the controller stops, the last placement stays.
// Services that have an instance keep at least one (zero demand in one period does not remove
// them). LLMs are not placed by the scheduler: they change mode by controller/llm_modes.h (an LLM
// whose node died comes back whole, or as a pipeline over nodes none of which holds it whole; a
// pipeline goes whole onto a node that holds it), when options.llm_sizes names them.
//
// Leader election (options.elect): several controllers may run against one etcd; the one that
// creates kLeaderKey under its lease (ClusterStore::PutIfAbsent) acts, the others check every
// 0.5 s and take over when the leader's lease expires (3 s after it stops keeping it alive), so a
// standby leads within ~3.5 s of the leader dying. With `epara up`'s embedded store: one
// controller, no election.
//
// Lifecycle: construct -> Start (background loop) -> Stop (a leader resigns: its lease is revoked
// so a standby takes over at once); or call Step() directly (tests, --once).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "allocator/profile.h"
#include "cluster/cluster_store.h"
#include "cluster/node_record.h"
#include "controller/llm_modes.h"
#include "controller/twin_gate.h"
#include "core/status.h"
#include "scheduler/demand_estimate.h"
#include "scheduler/placement.h"

namespace epara::controller {

struct ControllerOptions {
  std::chrono::milliseconds period{10000};
  scheduler::PlacementConfig placement;
  double demand_smoothing = 0.5;  // weight of the newest period's rate (EWMA)
  // Demand placed = smoothed mean + burst_headroom x its spread between periods
  // (scheduler/demand_estimate.h): bursty services get capacity above their mean.
  double burst_headroom = 1.0;
  int grace_ms = -1;                            // unload grace; -1: the nodes' default
  std::vector<allocator::Profile> profiles;     // optional; else observed service times
  std::function<void(const std::string&)> log;  // decisions, one line each (optional)
  bool elect = false;                           // campaign for leadership before acting
  std::string identity;                         // written as the leader key's value
  std::chrono::milliseconds lease_ttl{3000};
  std::string credential;  // the cluster credential the nodes ask for (empty: none)
  // The digital twin (controller/twin_gate.h; `epara up` passes sim::DigitalTwin when the cluster
  // file says `controller: {twin: true}`): each period's plan is forecast beside the current
  // placement over the next period and applied only when the twin predicts more goodput. Every
  // period logs its forecast and, a period later, the goodput the nodes observed (their cumulative
  // SLO-met counts) beside the twin's hindsight: the placement in force run at that period's own
  // rates (the model's error without the demand forecast's). GET /v1/plans records all three
  // (`twin.last_period`). The twin replays the LLM request sizes the nodes list (`llm_shapes`).
  // Empty: plans are applied as made.
  TwinFn twin;
  // The LLMs whose parallel mode the controller may change at run time, with their memory
  // (controller/llm_modes.h: recover a lost LLM whole or as a pipeline, consolidate a pipeline
  // onto a node that holds it whole). Empty: LLMs are left as they are.
  std::map<std::string, LlmSize> llm_sizes;
  // The LLMs whose pipeline the cluster file declares: a working one is kept beside whole
  // instances (LlmModeInput::Llm::declared).
  std::set<std::string> declared_pipelines;
  // With llm_sizes: build a pipeline beside the whole instances of an LLM that misses its SLO,
  // and tear it down when its demand falls (llm_modes.h expand).
  bool llm_expand = false;
};

inline constexpr const char* kLeaderKey = "/epara/controller/leader";

class Controller {
 public:
  Controller(cluster::ClusterStore* store, ControllerOptions options);
  ~Controller();  // Stop()

  // One period: observe, place, deploy. `moves` (optional) receives the steps carried out.
  Status Step(int* moves = nullptr);
  void Start();
  void Stop();
  uint64_t periods() const;
  bool leader() const;

 private:
  void Loop();
  // One election round: keep the lease if leading, else try to become the leader.
  void Campaign();
  // The LLM mode steps for the live nodes' records (llm_modes.h), from options_.llm_sizes.
  std::vector<LlmModeStep> PlanLlmSteps(const std::vector<cluster::NodeRecord>& records);

  cluster::ClusterStore* store_;
  ControllerOptions options_;
  // Last counters and when they were read, per node; smoothed demand per service and ingress.
  std::map<std::string, std::map<std::string, uint64_t>> last_counts_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_read_;
  std::map<std::string, std::map<std::string, scheduler::DemandEstimate>> demand_;  // period_plan.h
  // Cumulative SLO-met counts per node (the observed goodput between periods), and the twin's
  // forecast for the period that started at the last Step (< 0: none).
  std::map<std::string, std::map<std::string, uint64_t>> last_met_;
  double forecast_rps_ = -1;
  double forecast_offered_rps_ = 0;  // the arrivals that forecast simulated (0: no demand known)
  std::vector<TwinBacklog> last_backlog_;  // what the nodes held when the last period began
  std::set<std::string> llms_seen_;  // LLMs that have run in the cluster (recovered when lost)
  // Per service, the requests that entered since the last Step and those answered within their
  // SLO (the LLM modes' attainment); per LLM, the demand its built pipeline was built for.
  std::map<std::string, uint64_t> period_entered_, period_met_;
  std::map<std::string, double> built_for_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;    // GUARDED_BY(mu_)
  uint64_t periods_ = 0;     // GUARDED_BY(mu_)
  bool leader_ = false;      // GUARDED_BY(mu_)
  bool replan_now_ = false;  // GUARDED_BY(mu_): a node left
  std::unique_ptr<cluster::WatchHandle> watch_;
  cluster::LeaseId lease_ = cluster::kNoLease;  // loop thread
  std::thread thread_;
};

}  // namespace epara::controller
