// PeerClient: this node's connection to one peer (src/peer/peer.proto): forwards requests to it
// and streams this node's load digests to it.
//
// Forward semantics (the distributed request handler's retry rule): *started reports whether the
// peer acknowledged that it began executing. A failure with *started == false may be retried on
// another node; after the acknowledgement it may not (the request may have run).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/http_types.h"
#include "cluster/load_digest.h"
#include "core/status.h"
#include "peer/peer_auth.h"

namespace epara::peer {

class PeerClient {
 public:
  // `self` is this node's id (sent with every message); `address` is the peer's "host:port";
  // `auth` (peer/peer_auth.h): the cluster credential sent with every call, and the TLS identity
  // of the channel.
  PeerClient(std::string self, std::string peer_id, std::string address, PeerAuth auth = {});
  ~PeerClient();  // stops the digest sender

  // Sends `request` to the peer and fills `response` (a streamed body is relayed by
  // response->stream, which must be called at most once). `timeout` bounds the whole call for
  // unstreamed replies and the wait for the head of streamed ones. A peer that dies or vanishes
  // (no answer to keep-alive pings for ~3 s) fails the call; a relayed event stream
  // (text/event-stream) it breaks off ends with an error event naming the cause, then
  // `data: [DONE]`, so its client sees a clear error.
  Status Forward(const api::HttpRequest& request, api::HttpResponse* response, bool* started,
                 std::chrono::milliseconds timeout);

  // Hands the newest digest to the sender thread (started on first use), which writes it to a
  // long-lived stream to the peer, reconnecting after failures. Never blocks on the network.
  void PublishDigest(const cluster::LoadDigest& digest);

  const std::string& peer_id() const { return peer_id_; }
  const std::string& address() const { return address_; }
  uint64_t digests_sent() const { return sent_.load(); }

 private:
  struct Impl;
  void SenderLoop();

  const std::string self_, peer_id_, address_;
  const PeerAuth auth_;
  std::unique_ptr<Impl> impl_;
  std::mutex mu_;
  std::condition_variable cv_;
  cluster::LoadDigest pending_;  // GUARDED_BY(mu_)
  bool has_pending_ = false;     // GUARDED_BY(mu_)
  bool stopping_ = false;        // GUARDED_BY(mu_)
  std::atomic<uint64_t> sent_{0};
  std::thread sender_;
};

}  // namespace epara::peer
