// Bounded route candidates (issue 23): a request weighs at most `max` of the peers hosting its
// model, so its routing cost does not grow with the cluster. Pure function over counts; the node
// agent (node/request_routing.cc) and the simulator (sim/) draw their peer candidates through it.
//
// Which peers: different ingress nodes, at different turns, weigh different samples, so with
// stale digests they do not all herd onto the same idle peer (the power of d choices; see
// bench/results/sim/README.md). A uniform sample loses goodput on heterogeneous clusters (with
// 70% slow nodes most samples of 8 are mostly slow; measured in bench/results/sim/route_peers/),
// so the sample is drawn in proportion to speed (SampleBySpeed), and a node also remembers, per
// model, the peers its last requests went to (RememberPeer) and weighs those first: the power of
// d choices with memory (Mitzenmacher, Prabhakar and Shah, 2002).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace epara::router {

// Default `max` for epara's SLO-aware routing (node config `route_peers`).
inline constexpr int kDefaultRoutePeers = 16;

// Peers a node remembers per model: at most max / 2, so the rotating sample keeps at least half.
inline size_t RememberedPeers(size_t max) { return max / 2; }

// Speed-proportional sample (systematic PPS): `m` points spaced sum(weights) / m apart, from an
// offset that moves by the golden ratio with `turn`, each picking the host whose share of the
// cumulative weight holds it. A host's chance to be weighed is proportional to its weight (its
// speed; capped at every turn), so a fast node that is 5% of the hosts but 20% of the capacity is
// in a sample as often as its capacity asks; equal weights give an evenly spread sample.
// Appends to `picked` positions not already in it (a heavy host picked twice counts once).
// weights <= 0 count as the smallest positive weight.
void SampleBySpeed(const std::vector<double>& weights, size_t m, uint64_t turn,
                   std::vector<size_t>* picked);

// The positions in `hosts` that a request weighs: the remembered peers that still host the model
// (linear search: few), then SampleBySpeed over `weights` (parallel to hosts) for the rest of
// `max`. max == 0 or hosts.size() <= max: every host.
template <typename Key>
void PickPeers(const std::vector<Key>& hosts, const std::vector<double>& weights,
               const std::vector<Key>& remembered, size_t max, uint64_t turn,
               std::vector<size_t>* picked) {
  picked->clear();
  if (max == 0 || hosts.size() <= max) {
    for (size_t k = 0; k < hosts.size(); ++k) picked->push_back(k);
    return;
  }
  for (const Key& r : remembered) {
    auto it = std::find(hosts.begin(), hosts.end(), r);
    if (it != hosts.end()) picked->push_back(static_cast<size_t>(it - hosts.begin()));
  }
  SampleBySpeed(weights, max - picked->size(), turn, picked);
}

// After a request went to peer `winner`: it becomes the newest remembered peer (kept at most
// RememberedPeers(max)).
template <typename Key>
void RememberPeer(std::vector<Key>* remembered, const Key& winner, size_t max) {
  const size_t keep = RememberedPeers(max);
  if (keep == 0) return;
  auto it = std::find(remembered->begin(), remembered->end(), winner);
  if (it != remembered->end()) remembered->erase(it);
  remembered->insert(remembered->begin(), winner);
  if (remembered->size() > keep) remembered->resize(keep);
}

}  // namespace epara::router
