// PeerServer: the gRPC endpoint through which a node's peers reach it (src/peer/peer.proto):
//   - SyncDigests: a stream of load digests from one peer, handed to `on_digest`;
//   - Forward: an HTTP request of epara's API that a peer routed here, run by `on_forward` and
//     answered as accepted -> head -> chunks;
//   - PipelineStream: pipeline steps for an LLM stage hosted here (llm/pipeline_stage.h), run by a
//     session per stream and relayed to the next stage, the last stage's logits flowing back.
// Calls without the cluster credential (when one is set) are refused with UNAUTHENTICATED and
// reported to `on_refused`; unknown peers (`is_peer` false for the sender's node id) with
// PERMISSION_DENIED;
// malformed messages with INVALID_ARGUMENT (gRPC itself refuses undecodable bytes). Neither ever
// takes the server down.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/http_types.h"
#include "cluster/load_digest.h"
#include "core/status.h"
#include "llm/pipeline_stage.h"
#include "security/certs.h"

namespace epara::peer {

struct PeerServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  // The cluster credential every call must carry (`authorization: Bearer <credential>` metadata);
  // a call without it is refused with UNAUTHENTICATED before any of its messages is read.
  // Empty: none asked for (loopback development).
  std::string credential;
  // Mutual TLS: the server's identity, and the CA every client certificate must chain to (a
  // client without one, or with one from another CA, fails the handshake; no call runs). A call
  // then speaks only for the node its certificate names (common name = node id): one claiming
  // another node is refused with PERMISSION_DENIED and reported. Disabled: plaintext.
  security::TlsMaterial tls;
};

struct PeerServerHandlers {
  // Told why a call was refused for its credential (no secret in the text); null: not told.
  std::function<void(const std::string& why)> on_refused;
  std::function<bool(const std::string& node_id)> is_peer;  // null: every node id is accepted
  std::function<void(const cluster::LoadDigest&)> on_digest;
  // Runs a forwarded request here (never forwarding it again) and fills the response.
  std::function<void(const api::HttpRequest&, api::HttpResponse*)> on_forward;
  // Checked before a forward is acknowledged: an error refuses it with UNAVAILABLE and the origin
  // may retry elsewhere (e.g. the model is being unloaded here). What it leaves in `hold` is kept
  // until the forward has been answered. Null: every forward is taken.
  std::function<Status(const api::HttpRequest&, std::shared_ptr<void>* hold)> admit_forward;
  // Opens the state of one incoming pipeline stream for `model`: its session at the stage hosted
  // here, and the link on to the next stage (left null on the last stage). NotFound when this
  // node hosts no stage of `model`. Null: no stages here.
  std::function<Status(const std::string& model, std::unique_ptr<llm::StageSession>* session,
                       std::unique_ptr<llm::StageLink>* next)>
      open_stage;
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
