#include "cluster/membership.h"

namespace epara::cluster {

Status Membership::Join(ClusterStore* store, const NodeRecord& record,
                        std::chrono::milliseconds ttl, std::unique_ptr<Membership>* out) {
  if (record.id.empty()) return InvalidArgument("node id is empty");
  KeyValue existing;
  if (store->Get(NodeKey(record.id), &existing).ok())
    return InvalidArgument("node '" + record.id + "' is already registered and alive");
  LeaseId lease = kNoLease;
  EPARA_RETURN_IF_ERROR(store->GrantLease(ttl, &lease));
  if (Status s = store->Put(NodeKey(record.id), NodeRecordToJson(record), lease); !s.ok()) {
    (void)store->RevokeLease(lease);
    return s;
  }
  out->reset(new Membership(store, lease));
  return Status::Ok();
}

Membership::~Membership() { (void)Leave(); }

Status Membership::Heartbeat() { return store_->KeepAlive(lease_); }

Status Membership::Update(const NodeRecord& record) {
  return store_->Put(NodeKey(record.id), NodeRecordToJson(record), lease_);
}

Status Membership::Leave() {
  if (left_) return Status::Ok();
  left_ = true;
  return store_->RevokeLease(lease_);
}

Status ListNodes(ClusterStore* store, std::vector<NodeRecord>* out, std::vector<std::string>* bad) {
  std::vector<KeyValue> kvs;
  EPARA_RETURN_IF_ERROR(store->List(kNodePrefix, &kvs));
  out->clear();
  for (const KeyValue& kv : kvs) {
    NodeRecord r;
    if (ParseNodeRecord(kv.value, &r).ok())
      out->push_back(std::move(r));
    else if (bad != nullptr)
      bad->push_back(kv.key);
  }
  return Status::Ok();
}

}  // namespace epara::cluster
