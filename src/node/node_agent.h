// NodeAgent: one edge node of an epara cluster (`epara node --config node.yaml`).
//
//   - serves the full HTTP API of `epara serve` for the models it hosts, which must fit the
//     devices' memory budget (ResourceExhausted at Create otherwise);
//   - registers in the cluster store (device management protocol: id, addresses, devices with the
//     micro-benchmark's speed, backend versions, hosted instances) under a lease it keeps alive,
//     and deregisters on clean shutdown; a node whose lease runs out is down for everyone;
//   - watches the store for peers, streams its load digest to every peer every Δ and keeps theirs;
//   - routes every model request (the distributed request handler): candidates cluster-wide,
//     predicted completion = network estimate + expected wait + service time
//     (router/route_policy.h), run here or forward over gRPC; a forward the peer never started is
//     retried on the next candidate, one that failed after starting answers 503 with the reason;
//   - GET /v1/cluster: nodes, devices, instances, liveness and the latest digests;
//   - runtime instances (the scheduler's adaptive deployment, instance_lifecycle.cc):
//     POST /v1/internal/instances/{model}/load loads and warms an instance and advertises it;
//     POST /v1/internal/instances/{model}/unload[?grace_ms=N] stops advertising it, keeps serving
//     what reaches it for the grace period, then completes what it accepted and frees it (LLMs:
//     every stream runs to its end; the answer counts them as drained_requests);
//     forwards for a model not served here are refused before they start (the origin retries);
//   - pipeline stages of LLMs (config `pipeline:`, llm/pipeline_stage.h): as the head (stage 0)
//     it serves the model's API and runs the engine on its first layers, linked to the next stage;
//     as a later stage it holds its layers and answers pipeline streams from the previous one;
//     both can also be taken and given back at run time (POST /v1/internal/pipelines/{model}/...);
//   - LLMs load and unload at run time like other instances (api/llm_registry.h drains streams).
//
// Lifecycle: Create (loads models, connects the store) -> Start (listens, joins, starts the
// threads) -> Stop (leaves the cluster, drains HTTP, stops peers). Thread-safe after Start.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "allocator/profile.h"
#include "api/server.h"
#include "cluster/cluster_store.h"
#include "cluster/load_digest.h"
#include "cluster/membership.h"
#include "cluster/node_record.h"
#include "metrics/slo_window.h"
#include "node/admission_tuner.h"
#include "node/decision_ring.h"
#include "node/node_config.h"
#include "node/request_outcome.h"
#include "peer/peer_auth.h"
#include "repo/model_repository.h"
#include "router/route_policy.h"
#include "security/certs.h"

namespace epara::peer {
class PeerClient;
class PeerServer;
}  // namespace epara::peer
namespace epara::llm {
class StageLink;
class StageSession;
}  // namespace epara::llm

namespace epara::kserve_grpc {
class KServeGrpcServer;
}

namespace epara::node {

class NodeAgent {
 public:
  // `server_options` carries what `epara serve` would use (the LLM loader, image limits); the
  // node config fills in the models, the address and the CPU share. `backends` must outlive it.
  // `shared_store` (optional, must outlive the agent) replaces the store of the config: several
  // agents in one process (benchmarks, simulations) share one EmbeddedStore that way.
  static Status Create(const NodeConfig& config, api::ServerOptions server_options,
                       backend::BackendRegistry* backends, std::unique_ptr<NodeAgent>* out,
                       cluster::ClusterStore* shared_store = nullptr);
  ~NodeAgent();  // Stop()

  Status Start();
  void Stop();

  api::Server& server() { return *server_; }
  int api_port() const { return server_->port(); }
  // The KServe v2 gRPC port (config api.grpc_port); 0 when it is off.
  int grpc_port() const;
  int peer_port() const;
  // Digests this node sent to all peers, and received and kept from them, since Start().
  uint64_t digests_sent() const;
  uint64_t digests_received() const;
  const std::string& id() const { return config_.id; }
  // The JSON of GET /v1/cluster.
  std::string ClusterJson() const;
  // What the operator should know about this node's exposure (node/node_security.h).
  const std::vector<std::string>& security_warnings() const { return security_warnings_; }
  // Peer calls refused for a missing or wrong cluster credential, since Start().
  uint64_t peer_calls_refused() const;

 private:
  struct Peer;
  struct HostedStage;
  explicit NodeAgent(const NodeConfig& config);

  // pipeline_hosting.cc: loads the later stages configured here (their models are then not served
  // whole), and makes heads' engines link to their next stage. Before Server::Create.
  Status PreparePipeline(api::ServerOptions* options);
  Status LoadHostedStages(const api::ServerOptions& options);
  // Loads a later stage (p.stage > 0) of `model`, found in `scan` (of config_.models_dir), into
  // stages_ (at start, or at run time).
  Status LoadStage(const RepositoryScan& scan, const std::string& model,
                   const PipelineStageConfig& p);
  // This node's part in `model`'s pipeline now (the config's, or one built at run time).
  bool PipelineOf(const std::string& model, PipelineStageConfig* out) const;
  // Run-time pipelines (issue 24's mode changes):
  //   POST /v1/internal/pipelines/{model}/load {"first_layer", "end_layer", "next", "depth"}:
  //     first_layer 0 makes this node the head (an LLM engine on [0, end_layer) linked to `next`,
  //     advertised like any LLM); otherwise it holds [first_layer, end_layer) as a later stage.
  //   POST /v1/internal/pipelines/{model}/unload[?grace_ms=N]: a head unloads like an LLM (drained,
  //     its streams run to their end); a later stage leaves stages_ at once and is freed when the
  //     last stream through it ends.
  void AddPipelineRoutes();
  static Status ParsePipelinePart(const std::string& body, PipelineStageConfig* p);
  Status LoadPipelinePart(const std::string& model, const PipelineStageConfig& p);
  // *role: "head" or "stage"; *count: the head's drained requests, or the streams still open on
  // the stage.
  Status UnloadPipelinePart(const std::string& model, std::chrono::milliseconds grace,
                            std::string* role, int* count);
  // instance_lifecycle.cc: runtime load and unload (see the header comment), the refusal of
  // forwards this node cannot run, and the re-registration that advertises a change.
  Status LoadInstance(const std::string& model);
  // *drained (LLMs): the requests in flight that the unload waited for.
  Status UnloadInstance(const std::string& model, std::chrono::milliseconds grace,
                        int* drained = nullptr);
  Status AdmitForward(const api::HttpRequest& req, std::shared_ptr<void>* hold) const;
  // AdmitForward for the OpenAI generation routes (the LLM is named in the body).
  Status AdmitLlmForward(const api::HttpRequest& req, std::shared_ptr<void>* hold) const;
  void Reregister();
  void AddInstanceRoutes();
  // An unload's ?grace_ms (default: 3 sync intervals, at least 1 s); InvalidArgument outside
  // [0, 600000].
  Status GraceOf(const api::HttpRequest& req, std::chrono::milliseconds* grace) const;
  // Memory all instances here need (models, LLM weights and caches, pipeline stages).
  int64_t MemoryNeed() const;

  // PeerServerHandlers::open_stage.
  Status OpenStage(const std::string& model, std::unique_ptr<llm::StageSession>* session,
                   std::unique_ptr<llm::StageLink>* next);
  // The link from a stage of `model` here to the node `next` (resolved when a stream opens).
  std::unique_ptr<llm::StageLink> NextStageLink(const std::string& model, const std::string& next);

  // node_observability.cc (issue 26): every request that entered the cluster here (not forwarded
  // by a peer), judged against its service's SLO into slo_window_; GET /v1/slo (this node's
  // window, or ?scope=cluster: merged with every peer's) and GET /v1/plans (the controller's
  // recent period records from the store).
  void ObserveRequest(const api::HttpRequest& req, api::HttpResponse* res,
                      std::chrono::steady_clock::time_point started);
  // The SLO of `model` as served here or advertised by a peer; false when no node holds it.
  bool SloOf(const std::string& model, ServiceSlo* out) const;
  std::string SloJson(double window_s, bool cluster) const;
  void AddObservabilityRoutes();

  cluster::NodeRecord MakeRecord() const;
  cluster::LoadDigest MakeDigest();
  void OnNodeEvent(const cluster::WatchEvent& e);
  void OnProfile(const std::string& value);
  // Service time (ms) of `model` on a device of `gflops` before any run was measured: the profile
  // scaled by device speed when there is one, else inversely proportional to the device's speed.
  double UnmeasuredServiceMs(const std::string& model, double gflops) const;
  bool HasProfile(const std::string& model) const;  // a profile of the model reached this node
  // Tiles per request of `model` when it names no ?split (the config's, or the last set at run
  // time by POST /v1/internal/split/{model}); 0: whole.
  int SplitOf(const std::string& model) const;
  void AddSplitRoute();
  // This node holds `model` and splits the request (?split=N > 1, or its config's split).
  bool SplitsHere(const std::string& model, const api::HttpRequest& req) const;
  // A local LLM's mean time to first token so far (ms); 0 before its first request.
  double MeanTtftMs(const std::string& model) const;
  void UpsertPeer(const cluster::NodeRecord& r);
  void SyncLoop();
  void HeartbeatLoop();
  // ServerContext::run_split: tiles of one image on the instances with the earliest predicted
  // completion (local and peers), run at once and stitched.
  // `planned`: the config's degree, lowered to the fewest tiles predicted to meet the model's SLO
  // when config.split_fit (router::PlanSplit's budget: the SLO less the request's `elapsed_ms`
  // and as much again for the mask's encoding after the model); else exactly `tiles` (a client's
  // ?split).
  Status RunSplit(const std::string& model, const Tensor& input, int tiles, bool planned,
                  double elapsed_ms, Tensor* logits);
  // Candidates for `model`: this node (exact load) and peers with a fresh digest, with the
  // matching peers (null for local) and the service's SLO.
  // `is_llm` (optional) is set when the model is an LLM here or at a peer. For an LLM the
  // prediction is the time to the first token of a prompt of `prompt_tokens` (llm/step_cost.h:
  // the engine's queued prompt tokens and measured step costs; a crude sequences x mean TTFT
  // before any cost is known). `max_peers` > 0: at most that many of the peers hosting it,
  // router::SamplePeers' sample for routing turn `turn` (0: all).
  void Candidates(const std::string& model, std::vector<router::RouteCandidate>* candidates,
                  std::vector<std::shared_ptr<Peer>>* remote, double* slo_ms,
                  bool* is_llm = nullptr, int64_t prompt_tokens = 0, size_t max_peers = 0,
                  uint64_t turn = 0);
  // Prompt tokens of an OpenAI completion or chat request (`prompt` or the messages' contents),
  // counted with the local engine's tokenizer when `model` runs here, else ~4 bytes per token.
  int64_t EstimatePromptTokens(const std::string& model, const std::string& body) const;
  // ServerContext::route.
  bool Route(const std::string& model, const api::HttpRequest& req, api::HttpResponse* res,
             Status* error);

  NodeConfig config_;
  std::unique_ptr<api::Server> server_;
  std::unique_ptr<cluster::ClusterStore> own_store_;
  cluster::ClusterStore* store_ = nullptr;  // own_store_ or the shared one
  std::unique_ptr<peer::PeerServer> peer_server_;
  std::unique_ptr<kserve_grpc::KServeGrpcServer> grpc_server_;  // KServe v2 over gRPC (optional)
  // Later stages held here, by model; and this node's part in each pipeline (from config_.pipeline,
  // changed at run time). GUARDED_BY(stages_mu_)
  mutable std::mutex stages_mu_;
  std::map<std::string, std::shared_ptr<HostedStage>> stages_;
  std::map<std::string, PipelineStageConfig> pipeline_;
  // From the server options at Create: what builds stages at run time (heads are LLMs the server
  // loads through the loader PreparePipeline wraps).
  std::function<Status(const ModelDescriptor&, std::unique_ptr<llm::LlamaModel>*)> stage_loader_;
  int stage_cpu_threads_ = 0;
  std::mutex lifecycle_mu_;   // one runtime load or unload at a time
  std::mutex membership_mu_;  // the heartbeat may re-join while a runtime load re-registers
  std::unique_ptr<cluster::Membership> membership_;  // GUARDED_BY(membership_mu_)
  std::unique_ptr<cluster::WatchHandle> watch_;
  std::unique_ptr<cluster::WatchHandle> profile_watch_;
  cluster::PeerTable peer_table_;
  DecisionRing decisions_;         // recent routing decisions (GET /v1/decisions)
  metrics::SloWindow slo_window_;  // requests that entered here, judged (GET /v1/slo)
  // Reject-early with admission_adaptive: each service's admission share (null: fixed share).
  std::unique_ptr<AdmissionTuner> admission_tuner_;
  struct Departed {
    std::string device_class;
    std::chrono::steady_clock::time_point at;
    std::set<std::string> models;  // what it held (models and the services they are variants of)
  };
  std::map<std::string, Departed> departed_;  // GUARDED_BY(mu_): peers whose record went away
  double cpu_gflops_ = 0;                     // the micro-benchmark, full speed
  double local_gflops_ = 0;                   // as registered (times the emulated CPU share)
  std::vector<std::string> backend_versions_;
  peer::PeerAuth peer_auth_;   // the cluster credential and TLS identity this node dials with
  security::TlsMaterial tls_;  // its TLS identity on the peer port (disabled: plaintext)
  std::atomic<int64_t> last_refusal_log_s_{0};
  std::vector<std::string> security_warnings_;
  uint64_t epoch_ = 0;
  uint64_t sequence_ = 0;

  mutable std::mutex split_mu_;
  std::map<std::string, int> split_;  // by model, guarded by split_mu_ (from config_.split)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                               // GUARDED_BY(mu_)
  std::map<std::string, std::shared_ptr<Peer>> peers_;  // GUARDED_BY(mu_); other live nodes
  // Profiles from the store (allocator/profile.h), by model: the service time assumed for an
  // instance that has not run yet. GUARDED_BY(mu_)
  std::map<std::string, allocator::Profile> profiles_;
  std::map<std::string, uint64_t> ingress_;  // GUARDED_BY(mu_): requests that entered here
  // GUARDED_BY(mu_): by model, the peers recent requests went to (router/peer_sample.h)
  std::map<std::string, std::vector<std::string>> route_memory_;
  std::map<std::string, uint64_t> route_turns_;  // GUARDED_BY(mu_): round-robin position
  std::thread sync_thread_, heartbeat_thread_;
  std::atomic<bool> started_{false}, stopped_{false};

  // CPU time of the process at the last digest, for its utilization.
  double last_cpu_s_ = 0;
  std::chrono::steady_clock::time_point last_cpu_at_{};
};

}  // namespace epara::node
