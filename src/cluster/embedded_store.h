// EmbeddedStore: the in-process ClusterStore for a single host (nodes on one machine reach it
// through its owner). Leases expire on a clock: the reaper thread checks every `reap_interval`,
// and every operation checks first, so an expired lease is never observed as alive. Watch
// callbacks run on one dispatcher thread, outside the store's lock, in revision order.
//
// Tests pass a manual clock and reap_interval 0 (no reaper thread) and call ExpireLeases().
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "cluster/cluster_store.h"

namespace epara::cluster {

struct EmbeddedStoreOptions {
  std::function<std::chrono::steady_clock::time_point()> now = std::chrono::steady_clock::now;
  std::chrono::milliseconds reap_interval{100};  // 0: no reaper thread
  size_t history = 4096;                         // changes kept for watches that start behind
};

class EmbeddedStore final : public ClusterStore {
 public:
  explicit EmbeddedStore(EmbeddedStoreOptions options = {});
  ~EmbeddedStore() override;  // stops the threads; pending watch events are dropped

  Status GrantLease(std::chrono::milliseconds ttl, LeaseId* out) override;
  Status KeepAlive(LeaseId lease) override;
  Status RevokeLease(LeaseId lease) override;
  Status Put(const std::string& key, const std::string& value, LeaseId lease,
             int64_t* revision = nullptr) override;
  Status PutIfAbsent(const std::string& key, const std::string& value, LeaseId lease,
                     bool* created) override;
  Status Get(const std::string& key, KeyValue* out) override;
  Status List(const std::string& prefix, std::vector<KeyValue>* out,
              int64_t* revision = nullptr) override;
  Status Delete(const std::string& key) override;
  Status Watch(const std::string& prefix, int64_t after_revision,
               std::function<void(const WatchEvent&)> on_event,
               std::unique_ptr<WatchHandle>* out) override;

  // Expires every lease whose TTL has passed (deleting its keys); returns how many expired.
  int ExpireLeases();
  int64_t revision() const;

 private:
  class Handle;
  struct Lease {
    std::chrono::milliseconds ttl;
    std::chrono::steady_clock::time_point deadline;
    std::vector<std::string> keys;
  };
  struct Watcher {
    std::string prefix;
    std::function<void(const WatchEvent&)> on_event;
  };

  // All REQUIRES mu_.
  Status PutLocked(const std::string& key, const std::string& value, LeaseId lease,
                   int64_t* revision);
  int ExpireLocked();
  void DeleteLocked(const std::string& key);
  void DetachFromLeaseLocked(const std::string& key, LeaseId lease);
  void RecordLocked(WatchEvent e);
  void CancelWatch(int64_t id);
  void DispatchLoop();
  void ReapLoop();

  EmbeddedStoreOptions options_;
  mutable std::mutex mu_;
  std::condition_variable dispatch_cv_;  // new events, or stopping
  std::condition_variable idle_cv_;      // a callback finished
  std::map<std::string, KeyValue> data_;
  std::map<LeaseId, Lease> leases_;
  std::map<int64_t, Watcher> watchers_;
  std::deque<WatchEvent> history_;                     // the last options_.history changes
  std::deque<std::pair<int64_t, WatchEvent>> outbox_;  // (watch id, event) to deliver
  int64_t revision_ = 0;
  LeaseId next_lease_ = 1;
  int64_t next_watch_ = 1;
  int64_t delivering_ = 0;  // watch id whose callback runs now, 0 if none
  bool stopping_ = false;
  std::thread dispatcher_;
  std::thread reaper_;
  std::condition_variable reap_cv_;
};

}  // namespace epara::cluster
