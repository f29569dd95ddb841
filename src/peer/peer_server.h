// PeerServer: the gRPC endpoint through which a node's peers reach it (src/peer/peer.proto):
//   - SyncDigests: a stream of load digests from one peer, handed to `on_digest`;
//   - Forward: an HTTP request of epara's API that a peer routed here, run by `on_forward` and
//     answered as accepted -> head -> chunks.
// Unknown peers (`is_peer` false for the sender's node id) are refused with PERMISSION_DENIED;
// malformed messages with INVALID_ARGUMENT (gRPC itself refuses undecodable bytes). Neither ever
// takes the server down.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/http_types.h"
#include "cluster/load_digest.h"
#include "core/status.h"

namespace epara::peer {

struct PeerServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
};

struct PeerServerHandlers {
  std::function<bool(const std::string& node_id)> is_peer;  // null: every node id is accepted
  std::function<void(const cluster::LoadDigest&)> on_digest;
  // Runs a forwarded request here (never forwarding it again) and fills the response.
  std::function<void(const api::HttpRequest&, api::HttpResponse*)> on_forward;
};

class PeerServer {
 public:
  static Status Start(const PeerServerOptions& options, PeerServerHandlers handlers,
                      std::unique_ptr<PeerServer>* out);
  ~PeerServer();  // Stop()

  int port() const;
  // Stops accepting, cancels open digest streams, waits (bounded) for forwards in flight.
  void Stop();

  // Counters since start.
  uint64_t digests_received() const;
  uint64_t refused() const;  // streams or forwards refused (unknown peer or malformed)

 private:
  struct Impl;
  explicit PeerServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace epara::peer
