// NodeConfig: what `epara node --config node.yaml` reads. Example:
//
//   id: node-a                      # unique in the cluster
//   device_class: edge-server       # edge-server | embedded | microcomputer | any label
//   api:  {host: 127.0.0.1, port: 8001}     # the HTTP API (0: any free port)
//     # grpc_port: 8081 also serves KServe v2 over gRPC on the API's host (0: any free port)
//   peer: {host: 127.0.0.1, port: 0}        # gRPC for peers (0: any free port)
//   models: {dir: /srv/models, serve: [seg-demo]}   # serve: a subset of the repository (optional)
//     # optional, per model, replacing the descriptor's batching (how `epara up` applies a plan):
//     # batching: {seg-demo: {max_batch_size: 4, max_queue_delay_ms: 10, slo_aware: true}}
//     # optional: segmentation requests without ?split=N run as this many tiles (the plan's
//     # spatial split): split: {seg-hd: 2}; split_fit: false runs every such request on all of
//     # them (default true: the fewest tiles predicted to meet the SLO)
//   devices:
//     - {id: cpu, kind: cpu, cpu_threads: 2, memory_mb: 4096, cpu_quota: 1.0}
//   store: {kind: etcd, endpoint: 127.0.0.1:2379}   # or {kind: embedded} (a one-node cluster)
//     # credential: true sends the cluster credential to the store (epara up's gateway asks for it)
//     # tls: {ca: etcd-ca.pem, cert: node-a.pem, key: node-a.key}: etcd over TLS with a client
//     #   certificate (etcd --client-cert-auth --trusted-ca-file ...)
//   security:                       # optional (issue 25; node/node_security.h)
//     api_keys: /etc/epara/keys.yaml          # client API keys (hashes; `epara keys create`)
//     cluster_token_file: /etc/epara/cluster.token   # the cluster credential: peers, controller,
//                                             # deploy and status present it; admin everywhere
//     public_metrics: false                   # GET /metrics without a key
//     insecure: false                         # allow non-loopback binds without keys/credential
//     tls: {ca: ca.pem, cert: node-a.pem, key: node-a.key}   # mutual TLS on the peer port
//                                             # (`epara certs`; epara up makes them per run)
//   sync_interval_ms: 200           # Δ: load digests to every peer
//   down_after_ms: 3000             # lease TTL: a silent node is down after this
//   admission: best-effort          # or reject-early: 503 when no instance can meet the SLO
//   admission_slo_share: 1.0        # reject-early admits what is predicted within this share
//   admission_adaptive: true        # ... tightened under overload (router/admission_share.h)
//   sync_zone: zone-0               # optional: digests and routing stay within this zone
//   (all-to-all
//                                   # without it); see bench/results/sim/README.md
//   routing: slo-aware              # or the benchmark baselines' round-robin | least-outstanding
//                                   # | local-only (router/route_policy.h)
//   route_peers: 16                 # slo-aware routing weighs at most this many of a model's
//                                   # peers per request (router/peer_sample.h; 0: all of them)
//   observe: true                   # decision ring and live SLO window (the dashboard's data)
//   pipeline:                       # optional: pipeline stages of LLMs held here (issue 5)
//     llama-demo: {stage: 0, layers: [0, 4], next: node-b, depth: 2}
//       # stage 0 (the head) serves the model's API and runs its engine; later stages hold
//       # layers only. next: the node of the following stage (absent on the last). depth: the
//       # micro-batches the head keeps in flight (default 2).
//
// Parse errors name the file and the field.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "cluster/etcd_endpoint.h"
#include "core/status.h"
#include "repo/model_descriptor.h"
#include "router/peer_sample.h"
#include "router/route_policy.h"

namespace epara::node {

struct DeviceConfig {
  std::string id = "cpu";
  std::string kind = "cpu";
  int cpu_threads = 0;     // 0: all cores
  int64_t memory_mb = 0;   // 0: not limited by epara
  double cpu_quota = 1.0;  // < 1: emulate a slower device (backend/throttled_instance.h)
};

struct PipelineStageConfig {
  int stage = 0;  // 0: the head
  int first_layer = 0;
  int end_layer = 0;  // exclusive; 0: the model's last layer
  std::string next;   // node id of the next stage; empty on the last
  int depth = 2;      // head only: micro-batches in flight
};

struct NodeConfig {
  std::string id;
  std::string device_class = "edge-server";
  std::string api_host = "127.0.0.1";
  int api_port = 8000;
  int grpc_port = -1;  // api.grpc_port: KServe v2 over gRPC; -1: off
  std::string peer_host = "127.0.0.1";
  int peer_port = 0;
  std::string models_dir;
  std::vector<std::string> serve_models;           // empty: every model of models_dir
  std::map<std::string, BatchingConfig> batching;  // per model, replaces the descriptor's
  std::map<std::string, int> split;                // per model: default tiles per request
  // models.split_fit: a split request runs on the fewest of its `split` tiles predicted to meet the
  // model's SLO (router/split_plan.h); false: always all of them.
  bool split_fit = true;
  std::vector<DeviceConfig> devices;    // at least one (default: one CPU with all cores)
  std::string store_kind = "embedded";  // "embedded" | "etcd"
  std::string store_host = "127.0.0.1";
  int store_port = 2379;
  // store.endpoints: every member of a multi-member etcd, parsed (store_host:store_port is the
  // first); the node fails over between them (cluster/etcd_store.h). Empty: store.endpoint.
  std::vector<cluster::EtcdEndpoint> store_endpoints;
  std::chrono::milliseconds sync_interval{200};
  std::chrono::milliseconds down_after{3000};
  router::Admission admission = router::Admission::kBestEffort;
  double admission_slo_share = 1.0;  // in (0, 1]; router/route_policy.h
  // Reject-early adapts each service's share between 0.5 x and 1 x admission_slo_share from what
  // this node observes (router/admission_share.h); false: the share is fixed.
  bool admission_adaptive = true;
  router::RouteMode routing = router::RouteMode::kSloAware;
  int route_peers = router::kDefaultRoutePeers;  // see router/peer_sample.h
  // observe: false turns off the explanation records (the routing-decision ring, GET
  // /v1/decisions) and the live SLO window (GET /v1/slo); for the overhead benchmark
  // (bench/observe_bench.cc). X-Epara-Explain still answers.
  bool observe = true;
  // Sync zone (issue 23): empty = all-to-all (every node exchanges digests with every peer). A
  // name: this node syncs with, and routes to, only the peers of the same zone (a peer outside it
  // is no candidate, as one without a digest), so each node sends zone size - 1 digests per Δ.
  std::string sync_zone;
  std::map<std::string, PipelineStageConfig> pipeline;  // by model
  bool store_credential = false;  // store.credential: present the cluster credential to the store
  std::string store_tls_ca, store_tls_cert, store_tls_key;  // store.tls: all three or none
  // security: files are read when the node starts (node/node_security.h).
  std::string api_keys_file;       // empty: no client keys
  std::string cluster_token_file;  // empty: no cluster credential
  bool public_metrics = false;
  bool insecure = false;
  std::string tls_ca, tls_cert, tls_key;  // security.tls: all three or none
};

Status LoadNodeConfig(const std::string& path, NodeConfig* out);
// Same, from YAML text; `source` names it in errors.
Status ParseNodeConfig(const std::string& yaml, const std::string& source, NodeConfig* out);

}  // namespace epara::node
