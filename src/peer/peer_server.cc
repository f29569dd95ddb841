#include "peer/peer_server.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <mutex>
#include <set>

#include "peer/peer.grpc.pb.h"
#include "peer/proto_convert.h"
#include "security/secrets.h"

namespace epara::peer {
namespace {

class Service final : public v1::Peer::Service {
 public:
  Service(PeerServerHandlers handlers, const std::string& credential, bool tls)
      : h_(std::move(handlers)), tls_(tls), credential_(credential) {}

  // With mutual TLS, a call speaks for the node its certificate names (its common name): OK, or
  // PERMISSION_DENIED (reported) when it claims another node id. Without TLS: OK.
  grpc::Status Claims(const grpc::ServerContext* ctx, const std::string& node_id, const char* rpc) {
    if (!tls_) return grpc::Status::OK;
    const auto names = ctx->auth_context()->FindPropertyValues("x509_common_name");
    const std::string cn = names.empty() ? "" : std::string(names[0].data(), names[0].size());
    if (cn == node_id) return grpc::Status::OK;
    refused_++;
    const std::string why =
        "the certificate of '" + cn + "' was presented for node '" + node_id + "'";
    if (h_.on_refused) h_.on_refused(std::string(rpc) + " from " + ctx->peer() + ": " + why);
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, why);
  }

  // OK when no credential is asked for or the call carries it; UNAUTHENTICATED otherwise.
  grpc::Status Authenticate(const grpc::ServerContext* ctx, const char* rpc) {
    if (credential_.empty()) return grpc::Status::OK;
    const auto& md = ctx->client_metadata();
    auto it = md.find("authorization");
    std::string why = "no cluster credential";
    if (it != md.end()) {
      const std::string_view v(it->second.data(), it->second.size());
      if (credential_.Matches(security::BearerToken(v))) return grpc::Status::OK;
      why = "a wrong cluster credential";
    }
    refused_++;
    if (h_.on_refused) h_.on_refused(std::string(rpc) + " from " + ctx->peer() + ": " + why);
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why);
  }

  // A stream that never ends on its own (digests, pipeline steps) is registered for its lifetime,
  // so that Stop can cancel it; none is accepted once stopping.
  class LongStream {
   public:
    LongStream(Service* s, grpc::ServerContext* ctx) : s_(s), ctx_(ctx) {
      std::lock_guard<std::mutex> lock(s_->mu_);
      ok_ = !s_->stopping_;
      if (ok_) s_->syncs_.insert(ctx_);
    }
    ~LongStream() {
      std::lock_guard<std::mutex> lock(s_->mu_);
      s_->syncs_.erase(ctx_);
    }
    bool ok() const { return ok_; }

   private:
    Service* s_;
    grpc::ServerContext* ctx_;
    bool ok_ = false;
  };

  grpc::Status SyncDigests(grpc::ServerContext* ctx, grpc::ServerReader<v1::LoadDigest>* reader,
                           v1::SyncSummary* summary) override {
    if (grpc::Status a = Authenticate(ctx, "SyncDigests"); !a.ok()) return a;
    LongStream registration(this, ctx);
    if (!registration.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node stopping");
    v1::LoadDigest msg;
    uint64_t kept = 0;
    while (reader->Read(&msg)) {
      cluster::LoadDigest d;
      if (Status s = FromProto(msg, &d); !s.ok()) {
        refused_++;
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.message());
      }
      if (h_.is_peer && !h_.is_peer(d.node_id)) {
        refused_++;
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "unknown peer " + d.node_id);
      }
      if (grpc::Status c = Claims(ctx, d.node_id, "SyncDigests"); !c.ok()) return c;
      received_++;  // before the handler: whoever sees the digest also sees it counted
      if (h_.on_digest) h_.on_digest(d);
      kept++;
      if (ctx->IsCancelled()) break;
    }
    summary->set_received(kept);
    return grpc::Status::OK;
  }

  grpc::Status Forward(grpc::ServerContext* ctx, const v1::ForwardRequest* req,
                       grpc::ServerWriter<v1::ForwardReply>* writer) override {
    if (grpc::Status a = Authenticate(ctx, "Forward"); !a.ok()) return a;
    if (h_.is_peer && !h_.is_peer(req->origin_node())) {
      refused_++;
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "unknown peer '" + req->origin_node() + "'");
    }
    if (grpc::Status c = Claims(ctx, req->origin_node(), "Forward"); !c.ok()) return c;
    api::HttpRequest http;
    if (Status s = FromProto(*req, &http); !s.ok()) {
      refused_++;
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.message());
    }
    std::shared_ptr<void> hold;  // released when this forward has been answered
    if (h_.admit_forward)
      if (Status s = h_.admit_forward(http, &hold); !s.ok())
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, s.message());
    v1::ForwardReply reply;
    reply.set_accepted(true);
    if (!writer->Write(reply)) return grpc::Status(grpc::StatusCode::CANCELLED, "origin gone");
    api::HttpResponse res;
    if (h_.on_forward) {
      h_.on_forward(http, &res);
    } else {
      res.status = 501;
      res.body =
          R"({"error":{"message":"this node runs no forwarded requests","type":"unimplemented"}})";
    }
    reply.Clear();
    v1::ForwardReply::Head* head = reply.mutable_head();
    head->set_status(res.status);
    head->set_content_type(res.content_type);
    for (const auto& [k, v] : res.headers) head->mutable_headers()->insert({k, v});
    head->set_streamed(static_cast<bool>(res.stream));
    if (!res.stream) head->set_body(std::move(res.body));
    if (!writer->Write(reply)) return grpc::Status(grpc::StatusCode::CANCELLED, "origin gone");
    if (res.stream) {
      v1::ForwardReply chunk;
      res.stream([&](std::string_view data) {
        if (ctx->IsCancelled()) return false;
        chunk.set_chunk(std::string(data));
        return writer->Write(chunk);
      });
    }
    return grpc::Status::OK;
  }

  grpc::Status PipelineStream(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::StageReply, v1::StageStep>* stream) override {
    if (grpc::Status a = Authenticate(ctx, "PipelineStream"); !a.ok()) return a;
    LongStream registration(this, ctx);
    if (!registration.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node stopping");
    std::mutex write_mu;  // replies come from this thread (errors, last stage) and the next link's
    auto reply = [&](const llm::StageResult& r) {
      v1::StageReply msg;
      ToProto(r, &msg);
      std::lock_guard<std::mutex> lock(write_mu);
      (void)stream->Write(msg);  // fails only when the upstream is gone (then nobody waits)
    };
    std::unique_ptr<llm::StageSession> session;
    std::unique_ptr<llm::StageLink> next;
    grpc::Status result = grpc::Status::OK;
    v1::StageStep msg;
    std::string model;
    while (stream->Read(&msg)) {
      if (!session) {
        if (h_.is_peer && !h_.is_peer(msg.origin_node())) {
          refused_++;
          result = grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                "unknown peer '" + msg.origin_node() + "'");
          break;
        }
        if (result = Claims(ctx, msg.origin_node(), "PipelineStream"); !result.ok()) break;
        Status st = h_.open_stage ? h_.open_stage(msg.model(), &session, &next)
                                  : NotFound("this node hosts no pipeline stages");
        if (!st.ok()) {
          result = grpc::Status(st.code() == StatusCode::kNotFound
                                    ? grpc::StatusCode::NOT_FOUND
                                    : grpc::StatusCode::FAILED_PRECONDITION,
                                st.message());
          break;
        }
        model = msg.model();
      } else if (msg.model() != model) {
        refused_++;
        result = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "a pipeline stream carries one model (" + model + ")");
        break;
      }
      llm::StageStep step;
      llm::StageResult r;
      r.step_id = msg.step_id();
      if (r.status = FromProto(msg, &step); !r.status.ok()) {
        refused_++;
        reply(r);
        continue;
      }
      std::vector<float> out;
      r.status = session->Run(step, &out);
      if (!r.status.ok() || !next) {
        r.logits = std::move(out);
        reply(r);
        continue;
      }
      step.hidden = std::move(out);
      next->Send(std::move(step), reply);
    }
    next.reset();  // answers (or fails) every step still downstream before the stream ends
    return result;
  }

  // Ends every digest stream (they never end on their own) and refuses new ones.
  void CancelSyncs() {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (grpc::ServerContext* ctx : syncs_) ctx->TryCancel();
  }

  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> refused_{0};

 private:
  PeerServerHandlers h_;
  const bool tls_;                           // mutual TLS: a call's certificate names its node
  const security::SecretDigest credential_;  // empty: no credential asked for
  std::mutex mu_;
  bool stopping_ = false;                 // GUARDED_BY(mu_)
  std::set<grpc::ServerContext*> syncs_;  // GUARDED_BY(mu_): digest and pipeline streams
};

}  // namespace

struct PeerServer::Impl {
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::once_flag stopped;
};

PeerServer::PeerServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PeerServer::~PeerServer() { Stop(); }

Status PeerServer::Start(const PeerServerOptions& options, PeerServerHandlers handlers,
                         std::unique_ptr<PeerServer>* out) {
  auto impl = std::make_unique<Impl>();
  impl->service =
      std::make_unique<Service>(std::move(handlers), options.credential, options.tls.enabled());
  grpc::ServerBuilder builder;
  const std::string address = options.host + ":" + std::to_string(options.port);
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (options.tls.enabled()) {
    grpc::SslServerCredentialsOptions tls(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    tls.pem_root_certs = options.tls.ca_pem;
    tls.pem_key_cert_pairs.push_back({options.tls.key_pem, options.tls.cert_pem});
    creds = grpc::SslServerCredentials(tls);
  }
  builder.AddListeningPort(address, creds, &impl->port);
  builder.RegisterService(impl->service.get());
  builder.SetMaxReceiveMessageSize(256 << 20);
  builder.SetMaxSendMessageSize(256 << 20);
  // Pipeline links ping every second to notice a silent stage (peer/stage_link_client.cc).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 500);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port <= 0) return Unavailable("cannot listen for peers on " + address);
  out->reset(new PeerServer(std::move(impl)));
  return Status::Ok();
}

int PeerServer::port() const { return impl_->port; }

void PeerServer::Stop() {
  std::call_once(impl_->stopped, [this] {
    impl_->service->CancelSyncs();
    // Forwards in flight get the deadline to finish (their origins are waiting for them).
    impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(30));
    impl_->server->Wait();
  });
}

uint64_t PeerServer::digests_received() const { return impl_->service->received_.load(); }
uint64_t PeerServer::refused() const { return impl_->service->refused_.load(); }

}  // namespace epara::peer
