// NodeAgent's private pieces shared by its two source files (node_agent.cc: lifecycle,
// registration, sync, status; request_routing.cc: the distributed request handler). Not an API.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cluster/load_digest.h"
#include "cluster/node_record.h"
#include "llm/llama_model.h"
#include "node/node_agent.h"
#include "peer/peer_client.h"

namespace epara::node {

inline constexpr std::chrono::seconds kForwardTimeout{300};
inline constexpr const char* kExecHeader = "X-Epara-Exec-Ms";  // the peer's own time for a forward

// After an unload has freed a model's instances: the free heap goes back to the OS
// (ReleaseFreeHostMemory), logged with what it released (instance_lifecycle.cc).
void ReturnFreedHostMemory(const std::string& node, const std::string& model);

// A live peer: its registration and the connection to it.
struct NodeAgent::Peer {
  cluster::NodeRecord record;
  std::unique_ptr<peer::PeerClient> client;
  std::mutex mu;
  double network_ms = 1.0;  // EWMA of a forward's overhead beyond the peer's own time
  // A forward found the peer unreachable while this was its newest digest (epoch, sequence): not
  // a candidate until a newer digest proves it alive.
  bool unreachable = false;
  cluster::LoadDigest unreachable_at;
  std::map<std::string, int> outstanding;  // forwards in flight from here, by model
  // LLM streams forwarded from here in the last few seconds, by model: when each left and its
  // prompt tokens. Those sent after the peer's newest digest are not in its queue yet.
  std::map<std::string, std::deque<std::pair<std::chrono::steady_clock::time_point, int64_t>>>
      llm_forwards;
};

// A later pipeline stage held here (pipeline_hosting.cc).
struct NodeAgent::HostedStage {
  std::unique_ptr<llm::LlamaModel> model;
  std::mutex mu;  // one forward at a time across the streams that reach it
  int64_t kv_budget_tokens = 0;
  std::string next;  // node id; empty on the last stage
};

}  // namespace epara::node
