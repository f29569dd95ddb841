#include "cluster/store_gateway.h"

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cluster/etcd_json.h"
#include "core/base64.h"
#include "core/thread_name.h"
#include "core/version.h"
#include "security/secrets.h"

namespace epara::cluster {
namespace {

using json = nlohmann::json;
using etcd_json::EncodeKv;
using etcd_json::Int64Field;

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    default:
      return 500;
  }
}

void Reply(httplib::Response& res, const json& body) {
  res.set_content(body.dump(), "application/json");
}

void ReplyError(httplib::Response& res, const Status& s) {
  res.status = HttpStatusFor(s.code());
  Reply(res, {{"error", s.message()},
              {"message", s.message()},
              {"code", etcd_json::GrpcCodeFor(s.code())}});
}

// Parses the request body as a JSON object; false (after replying 400) if it is not one.
bool Body(const httplib::Request& req, httplib::Response& res, json* out) {
  *out = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (out->is_object()) return true;
  ReplyError(res, InvalidArgument("request body is not a JSON object"));
  return false;
}

// Decodes a base64 field ("" when absent).
Status Bytes(const json& j, const char* name, std::string* out) {
  auto it = j.find(name);
  if (it == j.end()) {
    out->clear();
    return Status::Ok();
  }
  if (!it->is_string()) return InvalidArgument(std::string(name) + " is not a base64 string");
  return Base64Decode(it->get<std::string>(), out);
}

// The store's current revision: ClusterStore reports it with List, here of a prefix no key has.
int64_t CurrentRevision(ClusterStore* store) {
  std::vector<KeyValue> none;
  int64_t revision = 0;
  (void)store->List(std::string(2, '\xff'), &none, &revision);
  return revision;
}

json Header(int64_t revision) { return {{"revision", std::to_string(revision)}}; }

// A key range as this gateway supports it: one key, or every key under a prefix.
Status RangeToPrefix(const json& j, std::string* key, bool* is_prefix) {
  std::string end;
  EPARA_RETURN_IF_ERROR(Bytes(j, "key", key));
  EPARA_RETURN_IF_ERROR(Bytes(j, "range_end", &end));
  if (key->empty()) return InvalidArgument("key is not provided");
  *is_prefix = !end.empty();
  if (!*is_prefix) return Status::Ok();
  if (*key == std::string(1, '\0') && end == std::string(1, '\0')) {
    key->clear();  // every key
    return Status::Ok();
  }
  if (end != etcd_json::PrefixEnd(*key))
    return Status(StatusCode::kUnimplemented, "only single keys and prefixes are supported");
  return Status::Ok();
}

}  // namespace

struct StoreGateway::Impl {
  ClusterStore* store = nullptr;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  std::condition_variable cv;  // watch streams wait here
  bool stopping = false;
  std::once_flag stopped;

  security::SecretDigest credential;  // empty: none asked for

  void Routes();
  // Whether the request carries the cluster credential (or none is asked for); else a 401 reply.
  bool Admit(const httplib::Request& req, httplib::Response& res) const {
    if (credential.empty() ||
        credential.Matches(security::BearerToken(req.get_header_value("Authorization"))))
      return true;
    ReplyError(res, Status(StatusCode::kUnauthenticated,
                           "the store gateway requires the cluster credential"));
    return false;
  }
  void Watch(const httplib::Request& req, httplib::Response& res);
};

void StoreGateway::Impl::Routes() {
  server.Get("/version", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, {{"etcdserver", std::string("epara-embedded-") + kEparaVersion},
                {"etcdcluster", "epara"}});
  });
  server.Post("/v3/kv/put", [this](const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    json j;
    if (!Body(req, res, &j)) return;
    std::string key, value;
    if (Status s = Bytes(j, "key", &key); !s.ok()) return ReplyError(res, s);
    if (Status s = Bytes(j, "value", &value); !s.ok()) return ReplyError(res, s);
    int64_t revision = 0;
    if (Status s = store->Put(key, value, Int64Field(j, "lease"), &revision); !s.ok())
      return ReplyError(res, s);
    Reply(res, {{"header", Header(revision)}});
  });
  // Transactions: the one form epara sends (PutIfAbsent): compare the key's create revision with
  // 0, and on success put. Other forms are refused as unimplemented.
  server.Post("/v3/kv/txn", [this](const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    json j;
    if (!Body(req, res, &j)) return;
    const json compare = j.value("compare", json::array());
    const json success = j.value("success", json::array());
    if (compare.size() != 1 || success.size() != 1 || !success[0].contains("request_put") ||
        compare[0].value("target", "") != "CREATE" ||
        Int64Field(compare[0], "create_revision") != 0)
      return ReplyError(res, Status(StatusCode::kUnimplemented,
                                    "the embedded store's gateway runs only create-if-absent "
                                    "transactions"));
    const json& put = success[0]["request_put"];
    std::string key, put_key, value;
    if (Status s = Bytes(compare[0], "key", &key); !s.ok()) return ReplyError(res, s);
    if (Status s = Bytes(put, "key", &put_key); !s.ok()) return ReplyError(res, s);
    if (Status s = Bytes(put, "value", &value); !s.ok()) return ReplyError(res, s);
    if (key != put_key)
      return ReplyError(res, InvalidArgument("the transaction compares one key and puts another"));
    bool created = false;
    if (Status s = store->PutIfAbsent(key, value, Int64Field(put, "lease"), &created); !s.ok())
      return ReplyError(res, s);
    Reply(res, {{"header", Header(CurrentRevision(store))}, {"succeeded", created}});
  });
  server.Post("/v3/kv/range", [this](const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    json j;
    if (!Body(req, res, &j)) return;
    std::string key;
    bool is_prefix = false;
    if (Status s = RangeToPrefix(j, &key, &is_prefix); !s.ok()) return ReplyError(res, s);
    std::vector<KeyValue> kvs;
    int64_t revision = 0;
    if (is_prefix) {
      if (Status s = store->List(key, &kvs, &revision); !s.ok()) return ReplyError(res, s);
    } else {
      KeyValue kv;
      Status s = store->Get(key, &kv);
      if (s.ok())
        kvs.push_back(kv);
      else if (s.code() != StatusCode::kNotFound)
        return ReplyError(res, s);
      revision = CurrentRevision(store);
    }
    json out = {{"header", Header(revision)}};
    if (!kvs.empty()) {
      out["kvs"] = json::array();
      for (const KeyValue& kv : kvs) out["kvs"].push_back(EncodeKv(kv));
      out["count"] = std::to_string(kvs.size());
    }
    Reply(res, out);
  });
  server.Post("/v3/kv/deleterange", [this](const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    json j;
    if (!Body(req, res, &j)) return;
    std::string key;
    bool is_prefix = false;
    if (Status s = RangeToPrefix(j, &key, &is_prefix); !s.ok()) return ReplyError(res, s);
    if (is_prefix)
      return ReplyError(res, Status(StatusCode::kUnimplemented, "range deletes are not supported"));
    Status s = store->Delete(key);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return ReplyError(res, s);
    json out = {{"header", Header(0)}};
    if (s.ok()) out["deleted"] = "1";
    Reply(res, out);
  });
  server.Post("/v3/lease/grant", [this](const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    json j;
    if (!Body(req, res, &j)) return;
    const int64_t ttl = Int64Field(j, "TTL");
    LeaseId id = kNoLease;
    if (Status s = store->GrantLease(std::chrono::seconds(ttl), &id); !s.ok())
      return ReplyError(res, s);
    Reply(res, {{"header", Header(0)}, {"ID", std::to_string(id)}, {"TTL", std::to_string(ttl)}});
  });
  server.Post("/v3/lease/keepalive", [this](const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    json j;
    if (!Body(req, res, &j)) return;
    const LeaseId id = Int64Field(j, "ID");
    json result = {{"header", Header(0)}, {"ID", std::to_string(id)}};
    Status s = store->KeepAlive(id);
    if (s.ok())
      result["TTL"] = "1";  // positive: alive (callers only test for > 0)
    else if (s.code() != StatusCode::kNotFound)
      return ReplyError(res, s);
    Reply(res, {{"result", result}});
  });
  server.Post("/v3/lease/revoke", [this](const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    json j;
    if (!Body(req, res, &j)) return;
    if (Status s = store->RevokeLease(Int64Field(j, "ID")); !s.ok()) return ReplyError(res, s);
    Reply(res, {{"header", Header(0)}});
  });
  server.Post("/v3/watch", [this](const httplib::Request& req, httplib::Response& res) {
    if (Admit(req, res)) Watch(req, res);
  });
}

void StoreGateway::Impl::Watch(const httplib::Request& req, httplib::Response& res) {
  json j;
  if (!Body(req, res, &j)) return;
  auto create = j.find("create_request");
  if (create == j.end() || !create->is_object())
    return ReplyError(res, InvalidArgument("only create_request is supported"));
  std::string prefix;
  bool is_prefix = false;
  if (Status s = RangeToPrefix(*create, &prefix, &is_prefix); !s.ok()) return ReplyError(res, s);
  if (!is_prefix) return ReplyError(res, Status(StatusCode::kUnimplemented, "watch a prefix"));
  int64_t start = Int64Field(*create, "start_revision");
  if (start <= 0) start = CurrentRevision(store) + 1;  // etcd: 0 means "from now on"
  // The stream: events queue up from the store's dispatcher and are written by this handler.
  struct Stream {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<WatchEvent> events;
  };
  auto stream = std::make_shared<Stream>();
  std::unique_ptr<WatchHandle> handle;
  json first = {{"result", {{"header", Header(0)}, {"created", true}}}};
  Status s = store->Watch(
      prefix, std::max<int64_t>(0, start - 1),
      [stream](const WatchEvent& e) {
        std::lock_guard<std::mutex> lock(stream->mu);
        stream->events.push_back(e);
        stream->cv.notify_all();
      },
      &handle);
  if (!s.ok()) {
    // Too old for the kept history (etcd: compacted): resume at the current revision.
    const int64_t now = CurrentRevision(store);
    first = {{"result",
              {{"header", Header(now)},
               {"canceled", true},
               {"compact_revision", std::to_string(now + 1)}}}};
  }
  auto shared_handle = std::make_shared<std::unique_ptr<WatchHandle>>(std::move(handle));
  res.set_chunked_content_provider("application/json", [this, stream, shared_handle, first](
                                                           size_t, httplib::DataSink& sink) {
    const std::string head = first.dump() + "\n";
    if (!sink.write(head.data(), head.size()) || !*shared_handle) {
      sink.done();
      return true;
    }
    for (;;) {
      std::deque<WatchEvent> batch;
      {
        std::unique_lock<std::mutex> lock(stream->mu);
        stream->cv.wait_for(lock, std::chrono::milliseconds(200),
                            [&] { return !stream->events.empty(); });
        batch.swap(stream->events);
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stopping) break;
      }
      if (!sink.is_writable()) break;
      if (batch.empty()) continue;
      json events = json::array();
      for (const WatchEvent& e : batch) {
        json ev = {{"kv", EncodeKv(e.kv)}};
        if (e.type == WatchEvent::Type::kDelete) ev["type"] = "DELETE";
        events.push_back(ev);
      }
      const std::string line =
          json{{"result", {{"header", Header(batch.back().kv.mod_revision)}, {"events", events}}}}
              .dump() +
          "\n";
      if (!sink.write(line.data(), line.size())) break;
    }
    shared_handle->reset();  // cancels the store watch (not from its callback)
    sink.done();
    return true;
  });
}

StoreGateway::StoreGateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StoreGateway::~StoreGateway() { Stop(); }

Status StoreGateway::Start(ClusterStore* store, const std::string& host, int port,
                           std::unique_ptr<StoreGateway>* out, const std::string& credential) {
  auto impl = std::make_unique<Impl>();
  impl->store = store;
  impl->credential = security::SecretDigest(credential);
  impl->server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  impl->server.set_tcp_nodelay(true);  // else small replies wait for delayed ACKs (~40 ms)
  impl->Routes();
  impl->port = port == 0 ? impl->server.bind_to_any_port(host) : port;
  if (port != 0 && !impl->server.bind_to_port(host, port)) impl->port = -1;
  if (impl->port <= 0) return Unavailable("store gateway cannot bind " + host);
  impl->thread = std::thread([s = &impl->server] {
    SetCurrentThreadName("ep-store-gw");
    s->listen_after_bind();
  });
  out->reset(new StoreGateway(std::move(impl)));
  return Status::Ok();
}

int StoreGateway::port() const { return impl_->port; }

void StoreGateway::Stop() {
  std::call_once(impl_->stopped, [this] {
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      impl_->stopping = true;
    }
    impl_->server.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
  });
}

}  // namespace epara::cluster
