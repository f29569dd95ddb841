// ClusterStore: the cluster's shared state, with etcd v3's model so that the embedded store (one
// host) and an etcd-backed store (several machines) are interchangeable:
//   - keys and values are strings; every change gets the next store-wide revision;
//   - a lease has a TTL; keys attached to it are deleted when it expires or is revoked (node
//     membership: a node's record lives as long as the node keeps its lease alive);
//   - a watch on a key prefix delivers every later change, in revision order.
//
// Errors: NotFound (unknown key or lease), InvalidArgument (empty key, TTL <= 0), Unavailable
// (store unreachable or closed). Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace epara::cluster {

using LeaseId = int64_t;
constexpr LeaseId kNoLease = 0;

// The controller's recent period records (controller/plan_record.h): one JSON array, newest last,
// written by the leading controller each period and served by every node at GET /v1/plans.
inline constexpr const char* kPlansKey = "/epara/controller/plans";

struct KeyValue {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;  // revision of the change that wrote this value
  LeaseId lease = kNoLease;
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: the key and the revision of the deletion, value empty
};

// Keeps a watch alive; destroying it cancels the watch (no callback runs after the destructor).
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};

class ClusterStore {
 public:
  virtual ~ClusterStore() = default;

  // Creates a lease that expires `ttl` after its grant or last keep-alive.
  virtual Status GrantLease(std::chrono::milliseconds ttl, LeaseId* out) = 0;
  // Restarts the lease's TTL. NotFound once it has expired or been revoked.
  virtual Status KeepAlive(LeaseId lease) = 0;
  // Ends the lease now and deletes its keys.
  virtual Status RevokeLease(LeaseId lease) = 0;

  // Writes `value` at `key`, attached to `lease` (kNoLease: lives until deleted). Returns the
  // change's revision in `revision` (optional).
  virtual Status Put(const std::string& key, const std::string& value, LeaseId lease,
                     int64_t* revision = nullptr) = 0;
  // Writes `value` at `key` only if the key does not exist, atomically (etcd: a transaction on
  // the key's create revision); *created says whether it did. Leader election builds on it.
  virtual Status PutIfAbsent(const std::string& key, const std::string& value, LeaseId lease,
                             bool* created) = 0;
  virtual Status Get(const std::string& key, KeyValue* out) = 0;
  // Every key starting with `prefix`, sorted by key; `revision` (optional) is the store's current
  // revision, from which a watch can continue without missing a change.
  virtual Status List(const std::string& prefix, std::vector<KeyValue>* out,
                      int64_t* revision = nullptr) = 0;
  // NotFound if the key does not exist.
  virtual Status Delete(const std::string& key) = 0;

  // Calls `on_event` for every change to a key under `prefix` with a revision > `after_revision`,
  // in revision order, never concurrently for one watch. Callbacks run on a store thread and must
  // not call Watch or destroy a WatchHandle of this store.
  virtual Status Watch(const std::string& prefix, int64_t after_revision,
                       std::function<void(const WatchEvent&)> on_event,
                       std::unique_ptr<WatchHandle>* out) = 0;
};

}  // namespace epara::cluster
