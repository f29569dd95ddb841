// Load digests: the compact state every node sends its peers every Δ (default 200 ms), and the
// table in which a node keeps the newest digest of each peer. Plain data here; the wire form is
// src/peer/peer.proto.
//
// Ordering: a digest is newer than another from the same node when its (epoch, sequence) is
// larger. A restarted node starts a new epoch (its start time), so its sequence may restart at 1.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace epara::cluster {

struct InstanceLoad {
  std::string model;
  uint32_t queue_length = 0;    // admitted, not yet running
  uint32_t in_flight = 0;       // running now
  double expected_wait_ms = 0;  // until a newly admitted request would start
  double service_ms = 0;        // recent service time of one request
  double batch_occupancy = 0;   // recent mean batch / max batch, 0..1
  bool ready = true;
  uint32_t max_batch = 1;  // requests one batch can hold (1: no batching)
  // LLM engines only (llm/step_cost.h): what a new stream's time to first token depends on.
  uint64_t queued_prompt_tokens = 0;  // prompt tokens waiting to be prefilled
  double prefill_ms_per_token = 0;    // 0: not measured yet
  double decode_step_ms = 0;
};

struct LoadDigest {
  std::string node_id;
  uint64_t epoch = 0;
  uint64_t sequence = 0;
  double cpu_utilization = 0;  // 0..1
  uint64_t free_memory_bytes = 0;
  std::vector<InstanceLoad> instances;

  // True when this digest is newer than `other` (same node assumed).
  bool NewerThan(const LoadDigest& other) const {
    return epoch != other.epoch ? epoch > other.epoch : sequence > other.sequence;
  }
  const InstanceLoad* Find(const std::string& model) const;
};

// The newest digest per peer, with when it arrived. Thread-safe.
class PeerTable {
 public:
  using Clock = std::chrono::steady_clock;

  enum class OfferResult { kAccepted, kStale };
  // Keeps `digest` if it is newer than the one held for its node.
  OfferResult Offer(const LoadDigest& digest, Clock::time_point now = Clock::now());
  void Forget(const std::string& node_id);

  struct Entry {
    LoadDigest digest;
    Clock::time_point received;
  };
  std::map<std::string, Entry> Snapshot() const;
  // Digests accepted and refused as stale since construction.
  uint64_t accepted() const;
  uint64_t stale() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  uint64_t accepted_ = 0, stale_ = 0;
};

}  // namespace epara::cluster
