// The simulator's cluster state and mechanics (internal to sim/; the entry point is
// sim/simulation.h). simulation.cc: arrivals, routing, digests, the controller and faults;
// sim_serving.cc: what happens on a serving node (vision queues and batches, LLM steps).
#pragma once

#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "controller/twin_gate.h"
#include "router/admission_share.h"
#include "router/route_policy.h"
#include "sim/digital_twin.h"
#include "sim/simulation.h"

namespace epara::sim::internal {

struct Req {
  size_t index = 0;
  int model = 0;  // index into spec.models
  int ingress = 0;
  double sent = 0;
  double enqueued = 0;  // into its instance's queue
  int image = 0, prompt = 0, output = 0;
  int node = -1;  // serving node
  bool remote = false;
  bool ended = false;
  // LLM
  bool prefilled = false;
  int prompt_done = 0;  // prompt tokens run (chunked prefill)
  int step_chunk = 0;   // prompt tokens in the step running now
  int generated = 0;
  double first_token = -1;
  int group = 0;  // the engine's micro-batch group (pipelines: depth > 1)
  // Spatial split: a tile runs solo at `share` of the model's pixels and reports to its parent,
  // which ends when its last tile did.
  Req* parent = nullptr;
  bool solo = false;
  double share = 1;
  int tiles_left = 0;
  bool tile_failed = false;
};

struct Instance {
  int model = 0;
  bool llm = false;
  BatchingConfig batching;
  bool ready = false;     // loaded and warm
  bool draining = false;  // unloading: runs what it holds, takes nothing new
  // Vision / tensor.
  std::deque<Req*> queue;
  std::vector<Req*> running;
  double batch_started = 0;  // when the running batch started (ms)
  engine::BatchCost cost;
  // What has the running batch run so far (BatchCost::Load's running_elapsed_ms)?
  double RunningElapsedMs(double now) const { return running.empty() ? -1 : now - batch_started; }
  double wake_at = std::numeric_limits<double>::infinity();
  // LLM engine.
  std::deque<Req*> waiting;
  std::vector<Req*> seqs;
  int64_t reserved = 0, waiting_tokens = 0, stepping_tokens = 0;
  llm::StepCost step_cost;
  // Micro-batch groups (LlmEngine's): one without a pipeline. Per group: a step in flight, its
  // prompt tokens, an epoch that a failed step bumps (its pending stage work is then ignored).
  int depth = 1;
  std::vector<char> group_busy = std::vector<char>(1, 0);
  std::vector<int64_t> group_tokens = std::vector<int64_t>(1, 0);
  std::vector<uint64_t> group_epoch = std::vector<uint64_t>(1, 0);
  // A pipeline head: the stages in order (node index, share of the layers), this node first.
  std::vector<std::pair<int, double>> chain;
  bool idle() const { return queue.empty() && running.empty() && waiting.empty() && seqs.empty(); }
};

// A pipeline stage's model on one node runs one step at a time (StageSession's model lock; the
// head's Launch runs in its engine loop): steps queue here, FIFO.
struct StageServer {
  bool busy = false;
  std::deque<std::function<void()>> waiting;
};

struct PeerState {          // what one node keeps about one peer
  std::map<int, int> mine;  // model -> requests outstanding there
  std::map<int, std::deque<std::pair<double, int64_t>>> llm_forwards;  // model -> (at, tokens)
  bool unreachable = false;
  uint64_t unreachable_seq = 0;
};

struct DigestRec {
  double sent = 0;
  double loss = 0;  // the loss rate in force when it was sent
  cluster::LoadDigest digest;
  std::vector<int> models;  // parallel to digest.instances: model indices (lookups without names)
  const cluster::InstanceLoad* Find(int model) const {
    for (size_t k = 0; k < models.size(); ++k)
      if (models[k] == model) return &digest.instances[k];
    return nullptr;
  }
};

inline constexpr size_t kHistory = 32;  // digests kept per node: more than down_after / Δ

struct Node {
  SimNodeSpec spec;
  int index = 0;
  bool up = true;
  bool listed = true;  // its record is in the store (until down_after past a crash)
  uint64_t incarnation = 0;
  std::map<int, Instance> instances;    // by model
  std::map<int, uint64_t> ingress;      // requests entered here, by model
  std::map<int, uint64_t> ingress_met;  // of those, answered within their SLO (the node's counter)
  std::map<int, uint64_t> turns;
  std::map<int, std::vector<int>> route_memory;          // by model: peers recent requests went to
  std::map<int, router::AdmissionShareState> admission;  // by model (spec.admission_adaptive)
  // The last kHistory digests, a ring reused in place (no allocation once warm): the k-th newest
  // is history[(next + kHistory - 1 - k) % kHistory] for k < kept.
  std::vector<DigestRec> history = std::vector<DigestRec>(kHistory);
  size_t next = 0, kept = 0;
  uint64_t sequence = 0;
  std::unordered_map<int, PeerState> peers;
  std::map<int, StageServer> stages;  // by model: pipeline stages computing here
  // The pipeline parts its config gives it (spec.pipeline at the start; the controller's LLM modes
  // change spec.pipeline at run time): what a restarted node comes back with.
  std::map<std::string, SimStage> file_pipeline;
  std::vector<double> busy_ms;  // per second of the run
};

class Cluster {
 public:
  Cluster(const SimSpec& spec, std::vector<Req>* requests, std::vector<SimOutcome>* outcomes,
          SimStats* stats);
  Status Start(double duration_s);
  void Run() { q_.RunAll(); }

  // simulation.cc
  void Arrive(size_t k);
  void Route(Req* r);
  // The route candidates for `r` at node `i` (its exact local load, its view of the peers) and the
  // node each names; own_* : the local LLM engine's measured step costs. `max_peers` > 0: at most
  // that many peers, router::SamplePeers' sample for `turn` (0: every host).
  void Candidates(int i, const Req& r, std::vector<router::RouteCandidate>* candidates,
                  std::vector<int>* target, double* own_prefill, double* own_decode,
                  size_t max_peers = 0, uint64_t turn = 0);
  void Respond(Req* r, bool ok, int status);
  // Node i's adaptive admission share for r's model, rolled to now (the node's AdmissionTuner,
  // simulated); null where the share is fixed (not adaptive, not reject-early, or an LLM).
  router::AdmissionShareState* AdaptiveAdmission(int i, const Req& r);
  void Tick(int node, uint64_t incarnation);
  const DigestRec* ViewOf(int from, int of) const;
  void ControllerPeriod();
  // sim_llm_modes.cc: the controller's LLM modes (controller::PlanLlmModes) over the listed nodes,
  // carried out in order, one instance load time per load.
  void LlmModesPeriod();
  int64_t MemoryInUse(const Node& n) const;
  void Crash(int node);
  void Recover(int node);
  void Advertise(int node, int model, bool on);
  double NetworkMs(int from, int to) const;
  // A hop carrying `bytes`: NetworkMs plus the bytes at SimOptions::bandwidth_mb_s (0: not
  // charged).
  double TransferMs(int from, int to, double bytes) const;
  double WorkMs(int image) const;
  // Every request ended, or the run is past its limit (the offered load's end plus the time any
  // request may take): the periodic events stop then.
  bool done() const {
    return (ended_ == requests_->size() && arrivals_done_) || q_.now() > end_ms_;
  }

  // sim_serving.cc
  void Deliver(Req* r, int node);  // the request reaches its serving node (after any hop)
  // sim_split.cc: runs `r` on node `node` as `tiles` tiles (NodeAgent::RunSplit).
  void Split(Req* r, int node, int tiles);
  void TileEnded(Req* tile, bool ok);
  void Enqueue(Req* r, Node& n, Instance& inst);
  void Dispatch(Node& n, Instance& inst);
  void LlmEnqueue(Req* r, Node& n, Instance& inst);
  void LlmKick(Node& n, Instance& inst);
  void LlmLaunch(Node& n, Instance& inst, int group);
  // A group's step ended after `ms` (on a pipeline head: launch to the last stage's answer);
  // observe: the engine learns it.
  void LlmStepDone(int node, int model, int group, int decode, int prefill, double ms,
                   bool observe);
  // sim_pipeline.cc: stage k of a pipeline head's group step; a failed step ends the group's
  // sequences with 503 (the head's StageLink failed).
  void RunStage(int head, int model, int group, uint64_t epoch, int decode, int prefill, int rows,
                size_t k, double started);
  void StageFailed(int head, int model, int group);
  // The head's instance while the group's step of `epoch` is still live (the head up, the step not
  // failed); null otherwise.
  const Instance* LiveStep(int head, int model, int group, uint64_t epoch) const;
  void ReleaseStage(int node, int model);
  void FailPipelinesThrough(int node);  // a crashed node fails the steps of every chain through it
  void BuildChain(int node, int model, Instance* inst);
  void AddBusy(Node& n, double from, double to);
  void LoadInstance(int node, int model, double ready_in_ms);
  void FinishDrain(Node& n, int model);
  cluster::InstanceLoad LoadOf(const Instance& inst) const;
  // A compute phase of `work_ms` at full speed on a dedicated core; `done(wall_ms)` runs when it
  // finished (processor sharing on a shared host, SimOptions::host_cores).
  // A batch or step on node `n`: RunCpu, then the throttled device's idle time; done(wall_ms).
  void RunPhase(Node& n, double work_ms, std::function<void(double wall_ms)> done);
  void RunCpu(double work_ms, std::function<void(double wall_ms)> done);
  void AdvanceCpu();
  void ScheduleCpu();

  const SimSpec& spec_;
  EventQueue q_;
  std::vector<Node> nodes_;
  std::vector<std::vector<int>> hosts_;  // by model: nodes advertising it, ascending
  std::vector<int> host_scratch_;        // Candidates: the hosts one request may weigh,
  std::vector<double> speed_scratch_;    // their speeds,
  std::vector<double> gflops_;  // by node: spec.gflops, contiguous (a sample reads many per route)
  std::vector<size_t> picked_scratch_;  // and those it weighs (positions in host_scratch_)
  std::map<std::string, int> model_index_, node_index_;  // by name / id
  std::vector<Req>* requests_;
  std::deque<Req> tiles_;  // spatial tiles (a deque: pointers stay valid)
  std::vector<SimOutcome>* outcomes_;
  SimStats* stats_;
  size_t ended_ = 0;
  size_t listed_ = 0;     // nodes whose record is in the store
  size_t zone_size_ = 0;  // SimOptions::zone_size; 0: one zone
  std::vector<size_t> listed_in_zone_;
  size_t ZoneOf(int node) const {
    return zone_size_ > 0 ? static_cast<size_t>(node) / zone_size_ : 0;
  }
  double end_ms_ = 0;
  bool arrivals_done_ = false;
  double loss_ = 0;
  bool controller_up_ = true;
  // The controller's memory between periods.
  controller::DemandTable demand_;
  std::set<int> llms_seen_;  // LLMs that ran somewhere (the controller restores, never introduces)
  // The LLM modes' memory: per node and LLM the (ingress, met) counts read last period; per LLM
  // the demand its controller-built pipeline was built for.
  std::map<int, std::map<int, std::pair<uint64_t, uint64_t>>> llm_counts_;
  std::map<int, double> llm_built_for_;
  std::map<int, std::map<std::string, uint64_t>> last_counts_;
  std::map<int, double> last_read_;
  std::shared_ptr<std::function<void()>> controller_loop_;
  // The digital twin (SimOptions::twin) and the recent requests' sizes it replays, per model (a
  // ring of kShapesKept, next write at shape_next_).
  std::unique_ptr<DigitalTwin> twin_;
  static constexpr size_t kShapesKept = 64;
  std::map<int, std::vector<controller::RequestShape>> shapes_;
  std::map<int, size_t> shape_next_;
  // Weighs the period's plan in the twin; false: keep the current placement.
  bool TwinApproves(const controller::PeriodInput& in, const controller::PeriodPlan& plan);
  // Per TwinPeriod: the query (live nodes, shapes) and the placement in force, for hindsight.
  std::vector<std::pair<controller::TwinQuery, scheduler::Instances>> twin_queries_;
  void JudgeTwinPeriods();  // fills TwinPeriod::observed_* once the run ended
  // Processor sharing (host_cores > 0): running phases by id, the last time progress was taken.
  struct CpuJob {
    double remaining = 0, started = 0;
    std::function<void(double)> done;
  };
  std::map<uint64_t, CpuJob> cpu_jobs_;
  uint64_t cpu_next_id_ = 0, cpu_generation_ = 0;
  double cpu_updated_ = 0;
};

}  // namespace epara::sim::internal
