#include "peer/peer_client.h"

#include <grpcpp/grpcpp.h>

#include <nlohmann/json.hpp>
#include <string_view>

#include "core/thread_name.h"
#include "peer/peer.grpc.pb.h"
#include "peer/proto_convert.h"

namespace epara::peer {

struct PeerClient::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Peer::Stub> stub;
  grpc::ClientContext* sync_ctx =
      nullptr;  // the digest stream's, for cancellation; GUARDED_BY(mu_)
};

namespace {

constexpr std::string_view kDone = "data: [DONE]\n\n";  // the end of an event stream

// One forwarded call: kept alive by the response's stream function while chunks are relayed.
struct ForwardCall {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::ForwardReply>> reader;
};

}  // namespace

PeerClient::PeerClient(std::string self, std::string peer_id, std::string address, PeerAuth auth)
    : self_(std::move(self)),
      peer_id_(std::move(peer_id)),
      address_(std::move(address)),
      auth_(std::move(auth)),
      impl_(std::make_unique<Impl>()) {
  grpc::ChannelArguments args;
  SetPeerChannelArguments(&args);  // forwards to a peer that vanishes fail within ~3 s
  // Reconnect quickly after a peer restarts (the default backoff reaches minutes).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  impl_->channel = grpc::CreateCustomChannel(address_, ChannelCredentialsFor(auth_, &args), args);
  impl_->stub = v1::Peer::NewStub(impl_->channel);
}

PeerClient::~PeerClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (impl_->sync_ctx) impl_->sync_ctx->TryCancel();
  }
  cv_.notify_all();
  if (sender_.joinable()) sender_.join();
}

Status PeerClient::Forward(const api::HttpRequest& request, api::HttpResponse* response,
                           bool* started, std::chrono::milliseconds timeout) {
  *started = false;
  auto call = std::make_shared<ForwardCall>();
  call->ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  AddCallCredential(auth_, &call->ctx);
  v1::ForwardRequest msg;
  ToProto(self_, request, &msg);
  call->reader = impl_->stub->Forward(&call->ctx, msg);
  v1::ForwardReply reply;
  if (!call->reader->Read(&reply)) {
    const grpc::Status st = call->reader->Finish();
    return Unavailable("peer " + peer_id_ + " (" + address_ +
                       ") did not accept the request: " + st.error_message());
  }
  if (reply.kind_case() != v1::ForwardReply::kAccepted)
    return Internal("peer " + peer_id_ + " broke the forward protocol (no acceptance first)");
  *started = true;
  if (!call->reader->Read(&reply) || reply.kind_case() != v1::ForwardReply::kHead) {
    call->ctx.TryCancel();
    const grpc::Status st = call->reader->Finish();
    return Unavailable("peer " + peer_id_ + " failed while executing the request: " +
                       (st.ok() ? std::string("no reply") : st.error_message()));
  }
  const v1::ForwardReply::Head& head = reply.head();
  response->status = head.status();
  response->content_type = head.content_type();
  response->headers.clear();
  for (const auto& [k, v] : head.headers()) response->headers.emplace_back(k, v);
  if (!head.streamed()) {
    response->body = head.body();
    call->reader->Finish();
    return Status::Ok();
  }
  const bool events = response->content_type.rfind("text/event-stream", 0) == 0;
  response->stream = [call, events, peer = peer_id_](const api::ChunkWriter& write) {
    v1::ForwardReply r;
    bool client_gone = false, done = false;
    while (call->reader->Read(&r)) {
      if (r.kind_case() != v1::ForwardReply::kChunk) continue;
      if (!write(r.chunk())) {
        call->ctx.TryCancel();  // our client went away: the peer cancels the work
        client_gone = true;
        break;
      }
      done = r.chunk().size() >= kDone.size() &&
             r.chunk().compare(r.chunk().size() - kDone.size(), kDone.size(), kDone) == 0;
    }
    const grpc::Status st = call->reader->Finish();
    if (client_gone || done || !events || st.ok()) return;
    // Broken off (the peer died or vanished): the client learns why, and the event stream ends
    // as every one does.
    const nlohmann::json e = {
        {"error",
         {{"message", "node " + peer + " failed mid-stream: " + st.error_message()},
          {"type", "unavailable"},
          {"code", 503}}}};
    (void)write("data: " + e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                "\n\n" + std::string(kDone));
  };
  return Status::Ok();
}

void PeerClient::PublishDigest(const cluster::LoadDigest& digest) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    pending_ = digest;
    has_pending_ = true;
    if (!sender_.joinable()) sender_ = std::thread([this] { SenderLoop(); });
  }
  cv_.notify_all();
}

void PeerClient::SenderLoop() {
  SetCurrentThreadName("ep-peer-sync");
  v1::LoadDigest msg;
  while (true) {
    grpc::ClientContext ctx;
    AddCallCredential(auth_, &ctx);
    v1::SyncSummary summary;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      impl_->sync_ctx = &ctx;
    }
    auto writer = impl_->stub->SyncDigests(&ctx, &summary);
    bool broken = false;
    while (!broken) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return has_pending_ || stopping_; });
        if (stopping_) break;
        ToProto(pending_, &msg);
        has_pending_ = false;
      }
      if (writer->Write(msg))
        sent_++;
      else
        broken = true;
    }
    if (!broken) writer->WritesDone();
    writer->Finish();
    std::unique_lock<std::mutex> lock(mu_);
    impl_->sync_ctx = nullptr;
    if (stopping_) return;
    // The peer is down or refused us: try again after a pause (the next digest is newer anyway).
    cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_; });
  }
}

}  // namespace epara::peer
