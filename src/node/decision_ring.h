// The node's recent routing decisions (issue 26): a bounded ring of router::RouteDecision, newest
// last, for GET /v1/decisions and the dashboard. Thread-safe; Push is O(1) and never allocates
// beyond the ring's capacity once it is full (old records are overwritten).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "router/route_decision.h"

namespace epara::node {

class DecisionRing {
 public:
  explicit DecisionRing(size_t capacity = 256);

  void Push(router::RouteDecision d);
  // The kept records, oldest first; only `model`'s when it is not empty; at most `limit` (the
  // newest) when limit > 0.
  std::vector<router::RouteDecision> Snapshot(const std::string& model = "",
                                              size_t limit = 0) const;
  uint64_t total() const;  // decisions pushed since the start (kept or overwritten)
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::vector<router::RouteDecision> ring_;  // GUARDED_BY(mu_)
  size_t next_ = 0;                          // GUARDED_BY(mu_): where the next one goes
  uint64_t total_ = 0;                       // GUARDED_BY(mu_)
};

// The compact form a client asked for with `X-Epara-Explain: 1` (or ?explain=1), one line of JSON
// for the response header of the same name: routing mode, SLO, outcome, chosen node, reason, and
// per candidate in ranked order its node, predicted completion, expected wait and service time
// (and whether that time was measured there).
std::string ExplainHeader(const router::RouteDecision& d);

// {"capacity": C, "total": T, "decisions": [...]} with every field of each record.
std::string DecisionsJson(const DecisionRing& ring, const std::string& model, size_t limit);

}  // namespace epara::node
