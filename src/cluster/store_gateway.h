// StoreGateway: serves a ClusterStore (in practice an EmbeddedStore) over the subset of etcd v3's
// JSON gateway that EtcdStore speaks, so node processes on one host share the embedded store of
// `epara up` exactly as they would share a real etcd (one client, one protocol, one test suite).
//
// Endpoints: GET /version; POST /v3/kv/put, /v3/kv/range (a single key, or a prefix: range_end
// must be the prefix's end), /v3/kv/deleterange (single key), /v3/lease/grant, /v3/lease/keepalive
// (one request, one result), /v3/lease/revoke, /v3/watch (one create_request; newline-delimited
// JSON results until the client disconnects). Errors carry etcd's {"error","message","code"}.
// With a cluster credential every endpoint but /version needs `Authorization: Bearer <credential>`
// (401 with etcd's error body otherwise); without one, loopback use only.
#pragma once

#include <memory>
#include <string>

#include "cluster/cluster_store.h"

namespace epara::cluster {

class StoreGateway {
 public:
  // Serves `store` (which must outlive the gateway) on host:port (0: any free port), to clients
  // that present `credential` (empty: to everyone).
  static Status Start(ClusterStore* store, const std::string& host, int port,
                      std::unique_ptr<StoreGateway>* out, const std::string& credential = "");
  ~StoreGateway();  // Stop()

  int port() const;
  // Ends open watch streams and stops serving. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit StoreGateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace epara::cluster
