// Membership: a node's presence in the cluster store. Join writes its NodeRecord under a lease;
// Heartbeat keeps the lease alive; Leave revokes it (clean shutdown). A node that stops
// heartbeating disappears when its lease's TTL runs out, and every watcher of kNodePrefix sees
// the deletion: that is how "marked down within 3 s" works (TTL 3 s by default).
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "cluster/cluster_store.h"
#include "cluster/node_record.h"

namespace epara::cluster {

class Membership {
 public:
  // InvalidArgument if a live node with the same id is registered (checked, then written: not
  // atomic; node ids come from configuration, so two live writers of one id are a setup error).
  static Status Join(ClusterStore* store, const NodeRecord& record, std::chrono::milliseconds ttl,
                     std::unique_ptr<Membership>* out);
  ~Membership();  // Leave(), errors ignored

  // NotFound once the lease has expired: the node was declared down and must join again.
  Status Heartbeat();
  // Rewrites the node's record under the same lease (e.g. its instances changed).
  Status Update(const NodeRecord& record);
  Status Leave();
  LeaseId lease() const { return lease_; }

 private:
  Membership(ClusterStore* store, LeaseId lease) : store_(store), lease_(lease) {}
  ClusterStore* store_;
  LeaseId lease_;
  bool left_ = false;
};

// The live nodes, sorted by id. Records that do not parse are skipped and reported in `bad`
// (optional) by key, so one broken writer cannot hide the others.
Status ListNodes(ClusterStore* store, std::vector<NodeRecord>* out,
                 std::vector<std::string>* bad = nullptr);

}  // namespace epara::cluster
