// EtcdStore: the ClusterStore on a real etcd (v3.4+), spoken through etcd's JSON gateway
// (POST /v3/kv/range|put|deleterange, /v3/lease/grant|keepalive|revoke, /v3/watch) so that no
// generated etcd client code is needed. Keys and values travel base64-encoded; int64 fields as
// JSON strings (proto3's JSON mapping).
//
// Semantics match ClusterStore with two etcd-given differences, both documented for callers:
//   - lease TTLs have whole-second granularity: GrantLease rounds up, and etcd raises a TTL below
//     its minimum (about 2 s with default election settings) to that minimum;
//   - a watch that starts at a revision etcd has compacted away resumes at the oldest revision
//     still kept (changes in between are lost; List again to resynchronize).
//
// Unary calls share one keep-alive connection (serialized by a mutex); every watch has its own
// connection and thread, and reconnects from its last delivered revision if the stream breaks.
// Errors: Unavailable when etcd cannot be reached, NotFound for unknown keys and leases, the gRPC
// code etcd reports otherwise.
#pragma once

namespace httplib {
class Client;
}

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cluster/cluster_store.h"
#include "cluster/etcd_endpoint.h"

namespace httplib {
class Client;
}

namespace epara::cluster {

struct EtcdStoreOptions {
  // The member a client talks to (AtEtcdMember sets it from `members`).
  std::string host = "127.0.0.1";
  int port = 2379;
  // Every member of a multi-member etcd cluster, in order; empty: host:port alone. A call that
  // cannot reach its member (or that the member answers Unavailable, e.g. without quorum) is
  // retried on the next member; a watch reconnects to the next member. A retried write may have
  // been applied by the member that failed: puts are idempotent, a retried PutIfAbsent then reports
  // created=false, a retried lease grant leaves a lease that expires by its TTL.
  std::vector<EtcdEndpoint> members;
  std::chrono::milliseconds timeout{3000};  // connect and read timeout of unary calls
  // Sent as `Authorization: Bearer <bearer>` with every call: the cluster credential that
  // `epara up`'s store gateway asks for. Empty for a real etcd (whose own auth differs).
  std::string bearer;
  // etcd over TLS with client certificates (etcd --cert-file/--key-file --client-cert-auth
  // --trusted-ca-file): PEM files of the CA that signed etcd's certificate, and of this client's
  // certificate and key. Empty: plain HTTP. etcd's certificate must name `host`.
  std::string tls_ca, tls_cert, tls_key;
};

// Parses "host:port[,host:port...]" into o->members (all) and o->host, o->port (the first);
// InvalidArgument naming `text` otherwise.
Status ParseEtcdEndpoints(const std::string& text, EtcdStoreOptions* o);

// The number of members of `o` (at least 1), and `o` aimed at member i (mod that number).
size_t EtcdMembers(const EtcdStoreOptions& o);
EtcdStoreOptions AtEtcdMember(const EtcdStoreOptions& o, size_t i);

// An HTTP(S) client for `o`'s endpoint (host:port): plain, or TLS verifying the server against
// o.tls_ca and presenting o.tls_cert/o.tls_key.
std::unique_ptr<httplib::Client> MakeEtcdClient(const EtcdStoreOptions& o);

class EtcdStore final : public ClusterStore {
 public:
  // Connects and checks that etcd answers (GET /version); Unavailable otherwise.
  static Status Connect(const EtcdStoreOptions& options, std::unique_ptr<EtcdStore>* out);
  ~EtcdStore() override;

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

  // The etcd server's version string (from GET /version), e.g. "3.4.23".
  const std::string& server_version() const { return server_version_; }

 private:
  explicit EtcdStore(const EtcdStoreOptions& options);
  // POSTs `body` (JSON) to `path`, on the next member when the current one is unreachable or
  // Unavailable; the reply's JSON object, or etcd's error as a Status.
  Status Call(const std::string& path, const std::string& body, nlohmann::json* reply);
  // One attempt of Call on the current member (mu_ held).
  Status CallOnce(const std::string& path, const std::string& body, nlohmann::json* reply);
  // Aims client_ at member i (mu_ held).
  void UseMember(size_t i);

  EtcdStoreOptions options_;
  std::mutex mu_;  // guards client_ and member_
  std::unique_ptr<httplib::Client> client_;
  size_t member_ = 0;  // the member client_ talks to
  std::string server_version_;
};

}  // namespace epara::cluster
