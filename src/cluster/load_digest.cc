#include "cluster/load_digest.h"

namespace epara::cluster {

const InstanceLoad* LoadDigest::Find(const std::string& model) const {
  for (const InstanceLoad& i : instances)
    if (i.model == model) return &i;
  return nullptr;
}

PeerTable::OfferResult PeerTable::Offer(const LoadDigest& digest, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(digest.node_id);
  if (it != entries_.end() && !digest.NewerThan(it->second.digest)) {
    ++stale_;
    return OfferResult::kStale;
  }
  entries_[digest.node_id] = Entry{digest, now};
  ++accepted_;
  return OfferResult::kAccepted;
}

void PeerTable::Forget(const std::string& node_id) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(node_id);
}

std::map<std::string, PeerTable::Entry> PeerTable::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_;
}

uint64_t PeerTable::accepted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return accepted_;
}

uint64_t PeerTable::stale() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stale_;
}

}  // namespace epara::cluster
