#include "cluster/embedded_store.h"

#include <algorithm>

#include "core/thread_name.h"

namespace epara::cluster {
namespace {

bool HasPrefix(const std::string& key, const std::string& prefix) {
  return key.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

class EmbeddedStore::Handle final : public WatchHandle {
 public:
  Handle(EmbeddedStore* store, int64_t id) : store_(store), id_(id) {}
  ~Handle() override { store_->CancelWatch(id_); }

 private:
  EmbeddedStore* store_;
  int64_t id_;
};

EmbeddedStore::EmbeddedStore(EmbeddedStoreOptions options) : options_(std::move(options)) {
  dispatcher_ = std::thread([this] {
    SetCurrentThreadName("ep-store-watch");
    DispatchLoop();
  });
  if (options_.reap_interval.count() > 0)
    reaper_ = std::thread([this] {
      SetCurrentThreadName("ep-store-lease");
      ReapLoop();
    });
}

EmbeddedStore::~EmbeddedStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  dispatch_cv_.notify_all();
  reap_cv_.notify_all();
  dispatcher_.join();
  if (reaper_.joinable()) reaper_.join();
}

Status EmbeddedStore::GrantLease(std::chrono::milliseconds ttl, LeaseId* out) {
  if (ttl.count() <= 0) return InvalidArgument("lease TTL must be positive");
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Unavailable("store is closed");
  ExpireLocked();
  const LeaseId id = next_lease_++;
  leases_[id] = Lease{ttl, options_.now() + ttl, {}};
  *out = id;
  return Status::Ok();
}

Status EmbeddedStore::KeepAlive(LeaseId lease) {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  auto it = leases_.find(lease);
  if (it == leases_.end()) return NotFound("lease " + std::to_string(lease) + " not found");
  it->second.deadline = options_.now() + it->second.ttl;
  return Status::Ok();
}

Status EmbeddedStore::RevokeLease(LeaseId lease) {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  auto it = leases_.find(lease);
  if (it == leases_.end()) return NotFound("lease " + std::to_string(lease) + " not found");
  const std::vector<std::string> keys = std::move(it->second.keys);
  leases_.erase(it);
  for (const std::string& k : keys) DeleteLocked(k);
  return Status::Ok();
}

Status EmbeddedStore::Put(const std::string& key, const std::string& value, LeaseId lease,
                          int64_t* revision) {
  if (key.empty()) return InvalidArgument("empty key");
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Unavailable("store is closed");
  ExpireLocked();
  return PutLocked(key, value, lease, revision);
}

Status EmbeddedStore::PutLocked(const std::string& key, const std::string& value, LeaseId lease,
                                int64_t* revision) {
  if (lease != kNoLease && !leases_.count(lease))
    return NotFound("lease " + std::to_string(lease) + " not found");
  auto it = data_.find(key);
  if (it != data_.end() && it->second.lease != lease) DetachFromLeaseLocked(key, it->second.lease);
  if (lease != kNoLease && (it == data_.end() || it->second.lease != lease))
    leases_[lease].keys.push_back(key);
  KeyValue kv{key, value, ++revision_, lease};
  data_[key] = kv;
  RecordLocked(WatchEvent{WatchEvent::Type::kPut, std::move(kv)});
  if (revision != nullptr) *revision = revision_;
  return Status::Ok();
}

Status EmbeddedStore::PutIfAbsent(const std::string& key, const std::string& value, LeaseId lease,
                                  bool* created) {
  if (key.empty()) return InvalidArgument("empty key");
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Unavailable("store is closed");
  ExpireLocked();
  *created = !data_.count(key);
  if (!*created) return Status::Ok();
  return PutLocked(key, value, lease, nullptr);
}

Status EmbeddedStore::Get(const std::string& key, KeyValue* out) {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  auto it = data_.find(key);
  if (it == data_.end()) return NotFound("key '" + key + "' not found");
  *out = it->second;
  return Status::Ok();
}

Status EmbeddedStore::List(const std::string& prefix, std::vector<KeyValue>* out,
                           int64_t* revision) {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  out->clear();
  for (auto it = data_.lower_bound(prefix); it != data_.end() && HasPrefix(it->first, prefix); ++it)
    out->push_back(it->second);
  if (revision != nullptr) *revision = revision_;
  return Status::Ok();
}

Status EmbeddedStore::Delete(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  auto it = data_.find(key);
  if (it == data_.end()) return NotFound("key '" + key + "' not found");
  DetachFromLeaseLocked(key, it->second.lease);
  DeleteLocked(key);
  return Status::Ok();
}

Status EmbeddedStore::Watch(const std::string& prefix, int64_t after_revision,
                            std::function<void(const WatchEvent&)> on_event,
                            std::unique_ptr<WatchHandle>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Unavailable("store is closed");
  ExpireLocked();
  if (after_revision < revision_) {
    const int64_t oldest = history_.empty() ? revision_ + 1 : history_.front().kv.mod_revision;
    if (after_revision + 1 < oldest)
      return InvalidArgument("revision " + std::to_string(after_revision) +
                             " is older than the kept history (from " + std::to_string(oldest) +
                             ")");
  }
  const int64_t id = next_watch_++;
  watchers_[id] = Watcher{prefix, std::move(on_event)};
  for (const WatchEvent& e : history_)
    if (e.kv.mod_revision > after_revision && HasPrefix(e.kv.key, prefix))
      outbox_.emplace_back(id, e);
  dispatch_cv_.notify_all();
  *out = std::make_unique<Handle>(this, id);
  return Status::Ok();
}

int EmbeddedStore::ExpireLeases() {
  std::lock_guard<std::mutex> lock(mu_);
  return ExpireLocked();
}

int64_t EmbeddedStore::revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return revision_;
}

int EmbeddedStore::ExpireLocked() {
  const auto now = options_.now();
  int expired = 0;
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    const std::vector<std::string> keys = std::move(it->second.keys);
    it = leases_.erase(it);
    for (const std::string& k : keys) DeleteLocked(k);
    ++expired;
  }
  return expired;
}

void EmbeddedStore::DeleteLocked(const std::string& key) {
  if (data_.erase(key) == 0) return;
  RecordLocked(WatchEvent{WatchEvent::Type::kDelete, KeyValue{key, "", ++revision_, kNoLease}});
}

void EmbeddedStore::DetachFromLeaseLocked(const std::string& key, LeaseId lease) {
  auto it = leases_.find(lease);
  if (it == leases_.end()) return;
  auto& keys = it->second.keys;
  keys.erase(std::remove(keys.begin(), keys.end(), key), keys.end());
}

void EmbeddedStore::RecordLocked(WatchEvent e) {
  for (const auto& [id, w] : watchers_)
    if (HasPrefix(e.kv.key, w.prefix)) outbox_.emplace_back(id, e);
  history_.push_back(std::move(e));
  while (history_.size() > options_.history) history_.pop_front();
  dispatch_cv_.notify_all();
}

void EmbeddedStore::CancelWatch(int64_t id) {
  std::unique_lock<std::mutex> lock(mu_);
  watchers_.erase(id);
  outbox_.erase(
      std::remove_if(outbox_.begin(), outbox_.end(), [id](const auto& p) { return p.first == id; }),
      outbox_.end());
  idle_cv_.wait(lock, [&] { return delivering_ != id; });
}

void EmbeddedStore::DispatchLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    dispatch_cv_.wait(lock, [&] { return stopping_ || !outbox_.empty(); });
    if (stopping_) return;
    auto [id, event] = std::move(outbox_.front());
    outbox_.pop_front();
    auto it = watchers_.find(id);
    if (it == watchers_.end()) continue;
    // The callback runs unlocked; CancelWatch waits for it through delivering_.
    std::function<void(const WatchEvent&)> callback = it->second.on_event;
    delivering_ = id;
    lock.unlock();
    callback(event);
    lock.lock();
    delivering_ = 0;
    idle_cv_.notify_all();
  }
}

void EmbeddedStore::ReapLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    reap_cv_.wait_for(lock, options_.reap_interval, [&] { return stopping_; });
    if (!stopping_) ExpireLocked();
  }
}

}  // namespace epara::cluster
