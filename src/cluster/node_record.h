// NodeRecord: what a node registers in the cluster store under `/epara/nodes/<id>` (the device
// management protocol's registration): its address, devices with their capabilities and measured
// speed, and the backend versions it runs. Serialized as JSON; parsing never trusts its input.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace epara::cluster {

struct DeviceRecord {
  std::string id;                     // "cpu", "cuda:0"
  std::string kind;                   // "cpu" | "cuda"
  int64_t memory_bytes = 0;           // budget epara may use on it
  double cpu_share = 0;               // cores (CPU devices)
  double speed_gflops = 0;            // measured by the node's micro-benchmark at registration
  std::vector<std::string> backends;  // "libtorch 1.13.1"
};

// One model instance the node serves (the service instance registry).
struct InstanceRecord {
  std::string model;
  std::string task;   // "segmentation" | "llm" | "tensor"
  double slo_ms = 0;  // end-to-end SLO of the service (LLM: time to first token); 0 = none
  // When the model is one variant of a service (its descriptor's variant.of): requests may name
  // the service, and any node holding one of its variants answers them. Empty otherwise.
  std::string service;
  int split = 0;       // this node splits its requests into tiles over the cluster (0: not split)
  double tpot_ms = 0;  // LLM: time-per-output-token SLO (0: none)
  // LLM pipeline head: its layers end here and continue on node `next` (empty: the whole model).
  std::string next;
  int end_layer = 0;
};

// A later stage of an LLM pipeline held by the node (not an instance: it serves no requests of its
// own, only the pipeline stream of the stage before it).
struct StageRecord {
  std::string model;
  int first_layer = 0;
  int end_layer = 0;
  std::string next;  // the following stage's node; empty on the last
};

struct NodeRecord {
  std::string id;
  std::string api_address;   // host:port of its HTTP API
  std::string peer_address;  // host:port of its peer (sync/forward) endpoint
  std::string device_class;  // "edge-server" | "embedded" | "microcomputer" | custom
  std::vector<DeviceRecord> devices;
  std::vector<InstanceRecord> instances;
  std::string version;              // epara version
  std::string zone;                 // its sync zone (node/node_config.h); empty: all-to-all
  std::vector<StageRecord> stages;  // later pipeline stages held here
  int64_t memory_used_bytes = 0;    // what its instances and stages hold of the devices' budget

  // The instance of `model`, else one that is a variant of the service `model` names; nullptr.
  const InstanceRecord* FindInstance(const std::string& model) const;
  // The fastest registered device's speed, GFLOP/s (0 without devices).
  double FastestGflops() const;
};

std::string NodeRecordToJson(const NodeRecord& r);
// InvalidArgument naming the field for malformed JSON, missing or mistyped fields.
Status ParseNodeRecord(const std::string& json, NodeRecord* out);

// The store key of node `id`, and the prefix of all node keys.
std::string NodeKey(const std::string& id);
inline constexpr const char* kNodePrefix = "/epara/nodes/";

}  // namespace epara::cluster
