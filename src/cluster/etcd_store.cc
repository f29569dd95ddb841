#include "cluster/etcd_store.h"

#include <httplib.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "cluster/etcd_json.h"
#include "core/base64.h"
#include "core/sigpipe.h"
#include "core/thread_name.h"

namespace epara::cluster {
namespace {

using json = nlohmann::json;
using etcd_json::DecodeKv;
using etcd_json::Int64Field;
using etcd_json::PrefixEnd;
using etcd_json::StatusFromGrpc;

// One watch: a thread holding a streaming POST /v3/watch, reconnecting from the revision after the
// last one delivered until cancelled.
class EtcdWatch final : public WatchHandle {
 public:
  EtcdWatch(const EtcdStoreOptions& options, std::string prefix, int64_t after_revision,
            std::function<void(const WatchEvent&)> on_event)
      : options_(options),
        prefix_(std::move(prefix)),
        next_revision_(after_revision + 1),
        on_event_(std::move(on_event)) {
    thread_ = std::thread([this] { Loop(); });
  }

  ~EtcdWatch() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
    }
    cv_.notify_all();
    // stop() closes the socket of a send in progress; repeated because the loop may be between
    // connections (a send that had not opened its socket yet is stopped on the next pass).
    while (!exited_.load()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (client_) client_->stop();
      }
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return exited_.load(); });
    }
    thread_.join();
  }

 private:
  void Loop() {
    SetCurrentThreadName("ep-etcd-watch");
    std::chrono::milliseconds backoff{50};
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (cancelled_) break;
        client_ = MakeEtcdClient(AtEtcdMember(options_, member_));
        client_->set_connection_timeout(options_.timeout);
        client_->set_read_timeout(std::chrono::seconds(60));
        if (!options_.bearer.empty())
          client_->set_default_headers({{"Authorization", "Bearer " + options_.bearer}});
      }
      const bool progressed = RunStream();
      {
        std::unique_lock<std::mutex> lock(mu_);
        client_.reset();
        if (cancelled_) break;
        if (!progressed) ++member_;  // that member did not answer: the next one
        backoff = progressed ? std::chrono::milliseconds(50)
                             : std::min(backoff * 2, std::chrono::milliseconds(1000));
        cv_.wait_for(lock, backoff, [&] { return cancelled_; });
        if (cancelled_) break;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      exited_ = true;
    }
    cv_.notify_all();
  }

  // Runs one streaming request; true if it delivered anything or was created.
  bool RunStream() {
    json create = {{"key", Base64Encode(prefix_)},
                   {"range_end", Base64Encode(PrefixEnd(prefix_))},
                   {"start_revision", std::to_string(next_revision_)}};
    httplib::Request req;
    req.method = "POST";
    req.path = "/v3/watch";
    req.body = json{{"create_request", create}}.dump();
    req.set_header("Content-Type", "application/json");
    bool progressed = false;
    std::string buffer;
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      buffer.append(data, n);
      size_t start = 0;
      for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
        if (!HandleLine(std::string_view(buffer).substr(start, nl - start), &progressed))
          return false;
      }
      buffer.erase(0, start);
      std::lock_guard<std::mutex> lock(mu_);
      return !cancelled_;
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    httplib::Client* client;
    {
      std::lock_guard<std::mutex> lock(mu_);
      client = client_.get();
    }
    client->send(req, res, error);
    if (!buffer.empty()) HandleLine(buffer, &progressed);  // a last line without '\n'
    return progressed;
  }

  // Parses one JSON line of the stream; false ends the stream (cancelled by etcd).
  bool HandleLine(std::string_view line, bool* progressed) {
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) return true;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return false;
    auto r = j.find("result");
    if (r == j.end() || !r->is_object()) return false;
    if (r->value("created", false)) {
      *progressed = true;
      return true;
    }
    if (r->value("canceled", false)) {
      // The start revision was compacted away: resume at the oldest kept revision.
      const int64_t compact = Int64Field(*r, "compact_revision");
      if (compact > next_revision_) next_revision_ = compact;
      return false;
    }
    auto events = r->find("events");
    if (events == r->end() || !events->is_array()) return true;
    for (const json& e : *events) {
      WatchEvent ev;
      ev.type = e.value("type", std::string()) == "DELETE" ? WatchEvent::Type::kDelete
                                                           : WatchEvent::Type::kPut;
      auto kv = e.find("kv");
      if (kv == e.end() || !DecodeKv(*kv, &ev.kv).ok()) continue;
      if (ev.kv.mod_revision < next_revision_) continue;  // already delivered before a reconnect
      next_revision_ = ev.kv.mod_revision + 1;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (cancelled_) return false;
      }
      on_event_(ev);
      *progressed = true;
    }
    return true;
  }

  const EtcdStoreOptions options_;
  const std::string prefix_;
  int64_t next_revision_;  // watch thread only
  size_t member_ = 0;      // the member to watch on next (guarded by mu_)
  const std::function<void(const WatchEvent&)> on_event_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::atomic<bool> exited_{false};
  std::unique_ptr<httplib::Client> client_;  // the connection in use, for stop()
  std::thread thread_;
};

}  // namespace

Status ParseEtcdEndpoints(const std::string& text, EtcdStoreOptions* o) {
  EPARA_RETURN_IF_ERROR(ParseEtcdEndpointList(text, &o->members));
  o->host = o->members.front().host;
  o->port = o->members.front().port;
  return Status::Ok();
}

size_t EtcdMembers(const EtcdStoreOptions& o) { return o.members.empty() ? 1 : o.members.size(); }

EtcdStoreOptions AtEtcdMember(const EtcdStoreOptions& o, size_t i) {
  EtcdStoreOptions at = o;
  if (o.members.empty()) return at;
  at.host = o.members[i % o.members.size()].host;
  at.port = o.members[i % o.members.size()].port;
  return at;
}

std::unique_ptr<httplib::Client> MakeEtcdClient(const EtcdStoreOptions& o) {
  if (o.tls_cert.empty()) return std::make_unique<httplib::Client>(o.host, o.port);
  // A server that closes the connection (etcd refusing a certificate, or restarting) must not end
  // the process through OpenSSL's writes.
  IgnoreSigpipe();
  auto c = std::make_unique<httplib::Client>("https://" + o.host + ":" + std::to_string(o.port),
                                             o.tls_cert, o.tls_key);
  c->set_ca_cert_path(o.tls_ca);
  c->enable_server_certificate_verification(true);
  return c;
}

EtcdStore::EtcdStore(const EtcdStoreOptions& options) : options_(options) { UseMember(0); }

void EtcdStore::UseMember(size_t i) {
  member_ = i % EtcdMembers(options_);
  const EtcdStoreOptions o = AtEtcdMember(options_, member_);
  client_ = MakeEtcdClient(o);
  client_->set_connection_timeout(o.timeout);
  client_->set_read_timeout(o.timeout);
  client_->set_write_timeout(o.timeout);
  client_->set_keep_alive(true);
  client_->set_tcp_nodelay(true);
  if (!o.bearer.empty()) client_->set_default_headers({{"Authorization", "Bearer " + o.bearer}});
}

EtcdStore::~EtcdStore() = default;

Status EtcdStore::Connect(const EtcdStoreOptions& options, std::unique_ptr<EtcdStore>* out) {
  std::unique_ptr<EtcdStore> store(new EtcdStore(options));
  std::string why;
  for (size_t i = 0; i < EtcdMembers(options); ++i) {  // the first member that answers
    const EtcdStoreOptions o = AtEtcdMember(options, i);
    const std::string where = o.host + ":" + std::to_string(o.port);
    store->UseMember(i);
    auto res = store->client_->Get("/version");
    const json v = res ? json::parse(res->body, nullptr, false) : json();
    if (res && res->status == 200 && v.is_object() && v.contains("etcdserver")) {
      store->server_version_ =
          v["etcdserver"].is_string() ? v["etcdserver"].get<std::string>() : "";
      *out = std::move(store);
      return Status::Ok();
    }
    why += (why.empty() ? "" : "; ") +
           (res ? "no etcd at " + where + " (GET /version answered " + std::to_string(res->status) +
                      ")"
                : "etcd at " + where + " unreachable: " + httplib::to_string(res.error()));
  }
  return Status(StatusCode::kUnavailable, why);
}

Status EtcdStore::Call(const std::string& path, const std::string& body, json* reply) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = CallOnce(path, body, reply);
  for (size_t tried = 1; tried < EtcdMembers(options_) && s.code() == StatusCode::kUnavailable;
       ++tried) {
    UseMember(member_ + 1);
    s = CallOnce(path, body, reply);
  }
  return s;
}

Status EtcdStore::CallOnce(const std::string& path, const std::string& body, json* reply) {
  // etcd's gateway ends error replies with an HTTP trailer that cpp-httplib 0.11 cannot parse
  // (the call reports a read error after the whole body arrived), so the body is collected as it
  // streams and used whenever it is complete JSON.
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body;
  req.set_header("Content-Type", "application/json");
  std::string received;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    received.append(data, n);
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  client_->send(req, res, error);
  json j = json::parse(received, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    if (error != httplib::Error::Success)
      return Status(StatusCode::kUnavailable, "etcd " + path + ": " + httplib::to_string(error));
    return Status(StatusCode::kInternal,
                  "etcd " + path + ": reply is not JSON (HTTP " + std::to_string(res.status) + ")");
  }
  if (j.contains("error") || (res.status != 200 && res.status != -1)) {
    std::string message = j.value("message", j.value("error", std::string("HTTP error")));
    return StatusFromGrpc(Int64Field(j, "code"), "etcd: " + message);
  }
  *reply = std::move(j);
  return Status::Ok();
}

Status EtcdStore::GrantLease(std::chrono::milliseconds ttl, LeaseId* out) {
  if (ttl.count() <= 0) return Status(StatusCode::kInvalidArgument, "lease TTL must be positive");
  const int64_t seconds = (ttl.count() + 999) / 1000;
  json reply;
  if (Status s = Call("/v3/lease/grant", json{{"TTL", std::to_string(seconds)}}.dump(), &reply);
      !s.ok())
    return s;
  const LeaseId id = Int64Field(reply, "ID");
  if (id == kNoLease) return Status(StatusCode::kInternal, "etcd granted no lease ID");
  *out = id;
  return Status::Ok();
}

Status EtcdStore::KeepAlive(LeaseId lease) {
  json reply;
  if (Status s = Call("/v3/lease/keepalive", json{{"ID", std::to_string(lease)}}.dump(), &reply);
      !s.ok())
    return s;
  // The gateway streams results; one request gives one. An expired lease has no TTL.
  auto result = reply.find("result");
  if (result == reply.end() || !result->is_object())
    return Status(StatusCode::kInternal, "etcd keepalive: unexpected reply");
  if (Int64Field(*result, "TTL") <= 0)
    return Status(StatusCode::kNotFound, "lease " + std::to_string(lease) + " has expired");
  return Status::Ok();
}

Status EtcdStore::RevokeLease(LeaseId lease) {
  json reply;
  return Call("/v3/lease/revoke", json{{"ID", std::to_string(lease)}}.dump(), &reply);
}

Status EtcdStore::Put(const std::string& key, const std::string& value, LeaseId lease,
                      int64_t* revision) {
  if (key.empty()) return Status(StatusCode::kInvalidArgument, "empty key");
  json body = {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != kNoLease) body["lease"] = std::to_string(lease);
  json reply;
  if (Status s = Call("/v3/kv/put", body.dump(), &reply); !s.ok()) return s;
  if (revision) *revision = Int64Field(reply.value("header", json::object()), "revision");
  return Status::Ok();
}

Status EtcdStore::PutIfAbsent(const std::string& key, const std::string& value, LeaseId lease,
                              bool* created) {
  if (key.empty()) return Status(StatusCode::kInvalidArgument, "empty key");
  json put = {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != kNoLease) put["lease"] = std::to_string(lease);
  const json body = {{"compare", json::array({{{"key", Base64Encode(key)},
                                               {"result", "EQUAL"},
                                               {"target", "CREATE"},
                                               {"create_revision", "0"}}})},
                     {"success", json::array({{{"request_put", put}}})}};
  json reply;
  EPARA_RETURN_IF_ERROR(Call("/v3/kv/txn", body.dump(), &reply));
  *created = reply.value("succeeded", false);
  return Status::Ok();
}

Status EtcdStore::Get(const std::string& key, KeyValue* out) {
  if (key.empty()) return Status(StatusCode::kInvalidArgument, "empty key");
  json reply;
  if (Status s = Call("/v3/kv/range", json{{"key", Base64Encode(key)}}.dump(), &reply); !s.ok())
    return s;
  auto kvs = reply.find("kvs");
  if (kvs == reply.end() || !kvs->is_array() || kvs->empty())
    return Status(StatusCode::kNotFound, "no key " + key);
  return DecodeKv((*kvs)[0], out);
}

Status EtcdStore::List(const std::string& prefix, std::vector<KeyValue>* out, int64_t* revision) {
  const std::string start = prefix.empty() ? std::string(1, '\0') : prefix;
  json body = {{"key", Base64Encode(start)}, {"range_end", Base64Encode(PrefixEnd(prefix))}};
  json reply;
  if (Status s = Call("/v3/kv/range", body.dump(), &reply); !s.ok()) return s;
  out->clear();
  if (auto kvs = reply.find("kvs"); kvs != reply.end() && kvs->is_array()) {
    for (const json& kv : *kvs) {
      KeyValue v;
      if (Status s = DecodeKv(kv, &v); !s.ok()) return s;
      out->push_back(std::move(v));
    }
  }
  if (revision) *revision = Int64Field(reply.value("header", json::object()), "revision");
  return Status::Ok();
}

Status EtcdStore::Delete(const std::string& key) {
  if (key.empty()) return Status(StatusCode::kInvalidArgument, "empty key");
  json reply;
  if (Status s = Call("/v3/kv/deleterange", json{{"key", Base64Encode(key)}}.dump(), &reply);
      !s.ok())
    return s;
  if (Int64Field(reply, "deleted") == 0) return Status(StatusCode::kNotFound, "no key " + key);
  return Status::Ok();
}

Status EtcdStore::Watch(const std::string& prefix, int64_t after_revision,
                        std::function<void(const WatchEvent&)> on_event,
                        std::unique_ptr<WatchHandle>* out) {
  if (!on_event) return Status(StatusCode::kInvalidArgument, "watch without a callback");
  *out = std::make_unique<EtcdWatch>(options_, prefix, std::max<int64_t>(after_revision, 0),
                                     std::move(on_event));
  return Status::Ok();
}

}  // namespace epara::cluster
